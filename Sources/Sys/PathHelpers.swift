import CLinux
import Glibc
import LayerAPI

/// Path-based helpers for start-up code (command line, mount plan). They follow symlinks as
/// ordinary path calls do; layer access goes through descriptors instead.

/// realpath(3): the absolute path with every symlink, "." and ".." resolved.
public func realPath(_ path: String) throws(Errno) -> String {
    guard let resolved = realpath(path, nil) else { throw lastErrno() }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// stat(2) (or lstat(2) when `followSymlinks` is false) of a path.
public func statPath(_ path: String, followSymlinks: Bool) throws(Errno) -> FileStat {
    try FD.currentDirectory.statAt(Array(path.utf8), flags: followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW)
}

/// True when `path` (following symlinks) is a directory.
public func isDirectory(_ path: String) -> Bool {
    (try? statPath(path, followSymlinks: true))?.isDirectory ?? false
}

/// mkdir(2) of one path (the process umask applies).
public func mkdir(_ path: String, mode: UInt32) throws(Errno) {
    try FD.currentDirectory.mkdirAt(Array(path.utf8), mode: mode)
}

/// The process umask, read from /proc/self/status without changing it (umask(2) would change it
/// process-wide for a moment). 0o022 when /proc is unavailable.
public func currentUmask() -> UInt32 {
    guard let fd = try? FD.open("/proc/self/status", flags: O_RDONLY) else { return 0o022 }
    defer { fd.close() }
    var text: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { b in (try? retryingOnEINTR { Glibc.read(fd.rawValue, b.baseAddress, b.count) }) ?? 0 }
        if n <= 0 { break }
        text.append(contentsOf: chunk[0..<n])
    }
    for line in text.split(separator: 0x0A) where line.starts(with: Array("Umask:".utf8)) {
        var value: UInt32 = 0
        var seen = false
        for b in line.dropFirst(6) where b >= 0x30 && b <= 0x37 {
            value = value * 8 + UInt32(b - 0x30)
            seen = true
        }
        if seen { return value }
    }
    return 0o022
}

/// The whole content of a small file (e.g. /proc/self/mountinfo).
public func readWholeFile(_ path: String) throws(Errno) -> [UInt8] {
    let fd = try FD.open(path, flags: O_RDONLY)
    defer { fd.close() }
    var out: [UInt8] = []
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
    defer { chunk.deallocate() }
    var offset: Int64 = 0
    while true {
        let n = try fd.read(into: chunk, at: offset)
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
        offset += Int64(n)
    }
    return out
}

/// The names in directory `path` (without "." and "..").
public func directoryNames(_ path: String) throws(Errno) -> [[UInt8]] {
    let fd = try FD.open(path, flags: O_RDONLY | O_DIRECTORY)
    defer { fd.close() }
    return try fd.readDirectoryEntries().map { $0.name.bytes }
}

/// True when the calling process can open `path` for reading and writing.
public func canOpenReadWrite(_ path: String) -> Errno? {
    do {
        let fd = try FD.open(path, flags: O_RDWR)
        fd.close()
        return nil
    } catch {
        return error
    }
}

/// Raises the soft limit of open files to the hard limit (the daemon keeps descriptors of open
/// files and of cached layer directories). Returns the new soft limit.
@discardableResult
public func raiseOpenFileLimit() -> UInt64 {
    var lim = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return 0 }
    if lim.rlim_cur < lim.rlim_max {
        var raised = lim
        raised.rlim_cur = lim.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
    }
    return UInt64(lim.rlim_cur)
}
