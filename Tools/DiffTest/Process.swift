import ChildProcess
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Errors of the tester itself (not mismatches): a mount that failed, a command that failed.
public struct DiffTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A child with stdin /dev/null and stdout+stderr appended to `log`, in the C locale.
func spawn(_ argv: [String], log: String) throws -> ChildProcess {
    try ChildProcess(argv, stdout: log, stderr: nil, environment: ["LC_ALL": "C"])
}

/// Runs a command to completion (killed by PID after `timeout`); returns (status, output).
@discardableResult
func command(_ argv: [String], timeout: Double = 120) -> (status: Int32, output: String) {
    let log = NSTemporaryDirectory() + "/shiftoverlay-difftest-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
    defer { unlink(log) }
    guard let c = try? spawn(argv, log: log) else { return (-1, "spawn failed: \(argv)") }
    if !c.wait(seconds: timeout) { c.terminate() }
    let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return (c.exitStatus ?? -1, out)
}

func checkedCommand(_ argv: [String], timeout: Double = 120) throws {
    let r = command(argv, timeout: timeout)
    guard r.status == 0 else { throw DiffTestError("\(argv.joined(separator: " ")) failed (\(r.status)): \(r.output)") }
}

/// Mount points (field 5 of /proc/self/mountinfo; our paths never need unescaping).
func mountPoints() -> [String] {
    guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ", omittingEmptySubsequences: false)
        return f.count > 4 ? String(f[4]) : nil
    }
}

func isMounted(_ path: String) -> Bool { mountPoints().contains(path) }

func canonical(_ p: String) -> String {
    guard let r = realpath(p, nil) else { return p }
    defer { free(r) }
    return String(cString: r)
}

func makeDirs(_ p: String) throws {
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
}

/// A private temporary directory (`mkdtemp`), canonical (it must match /proc/self/mountinfo).
func makeTempDir(base: String, tag: String) throws -> String {
    var template = Array("\(base)/shiftoverlay-difftest.\(tag).XXXXXX".utf8CString)
    let ok = template.withUnsafeMutableBufferPointer { buf in
        buf.baseAddress.map { mkdtemp($0) != nil } ?? false
    }
    guard ok else { throw DiffTestError("mkdtemp in \(base) failed: errno \(errno)") }
    let made = template.withUnsafeBufferPointer { buf in buf.baseAddress.map { String(cString: $0) } ?? "" }
    chmod(made, 0o755)
    return canonical(made)
}

/// Detaches anything still mounted below `root`, then removes it.
func removeTree(_ root: String) {
    for m in mountPoints().filter({ $0 == root || $0.hasPrefix(root + "/") }).sorted(by: { $0.count > $1.count }) {
        _ = command(["fusermount3", "-u", "-z", m], timeout: 10)
        if isMounted(m) { _ = command(["umount", "-l", m], timeout: 10) }
    }
    _ = command(["rm", "-rf", "--one-file-system", root], timeout: 300)
}
