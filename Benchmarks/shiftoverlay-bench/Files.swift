import Glibc

/// Whole-file read (small files: /proc entries, lists).
func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "w") else { throw BenchError("cannot write \(path): \(errnoText())") }
    defer { fclose(f) }
    let bytes = Array(text.utf8)
    if !bytes.isEmpty && fwrite(bytes, 1, bytes.count, f) != bytes.count {
        throw BenchError("short write to \(path)")
    }
}

/// One write(2) of `value` and a newline to a sysfs attribute (sysfs reports a refused value
/// there, not at close).
func writeSysfs(_ path: String, _ value: String) -> Bool {
    let fd = open(path, O_WRONLY)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let bytes = Array((value + "\n").utf8)
    return write(fd, bytes, bytes.count) == bytes.count
}

func errnoText() -> String { String(cString: strerror(errno)) }

func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// mkdir -p.
func makeDirs(_ path: String) throws {
    if isDirectory(path) { return }
    var prefix = ""
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw BenchError("mkdir \(prefix): \(errnoText())")
        }
    }
}

func dirname(_ path: String) -> String {
    guard let i = path.lastIndex(of: "/") else { return "." }
    return i == path.startIndex ? "/" : String(path[..<i])
}

/// One entry of a tree listing: its type letter from `find -printf %y` and its relative path.
struct Entry {
    let type: Character
    let size: Int
    let path: String
}

/// Every entry under `root` (relative paths, root itself excluded), via find(1).
func listTree(_ root: String, scratch: String) throws -> [Entry] {
    let out = scratch + "/list.txt"
    unlink(out)
    try run(["find", root, "-mindepth", "1", "-printf", "%y %s %P\\n"], stdout: out)
    guard let text = readFile(out) else { throw BenchError("cannot read \(out)") }
    unlink(out)
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard f.count == 3, let t = f[0].first, let size = Int(f[1]) else { return nil }
        return Entry(type: t, size: size, path: String(f[2]))
    }
}

/// sync, then drop the page cache, dentries and inodes.
func dropCaches() throws {
    sync()
    try writeFile("/proc/sys/vm/drop_caches", "3\n")
}

/// utime + stime of a process in seconds, from /proc/PID/stat (all threads).
func processCPUSeconds(_ pid: pid_t) -> Double? {
    guard let text = readFile("/proc/\(pid)/stat"), let paren = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: paren)...].split(separator: " ")
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Peak resident set size (VmHWM) of a process in MiB.
func processPeakRSSMiB(_ pid: pid_t) -> Double? {
    guard let text = readFile("/proc/\(pid)/status") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
        return kb.map { $0 / 1024 }
    }
    return nil
}

/// True if `mountpoint` appears in this namespace's mount table.
func isMounted(_ mountpoint: String) -> Bool {
    guard let text = readFile("/proc/self/mountinfo") else { return false }
    for line in text.split(separator: "\n") {
        let f = line.split(separator: " ", maxSplits: 5)
        if f.count > 4 && f[4] == mountpoint { return true }
    }
    return false
}
