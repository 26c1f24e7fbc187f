import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Errors of the tester itself (not mismatches): a mount that failed, a command that failed.
public struct DiffTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A child started with posix_spawn (empty signal mask, default dispositions, stdin /dev/null,
/// stdout+stderr appended to `log`). Only ever signalled by its own PID.
final class Child {
    let pid: pid_t
    private(set) var status: Int32?

    init(_ argv: [String], log: String) throws {
        var fa = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        posix_spawn_file_actions_init(&fa)
        posix_spawnattr_init(&attr)
        defer {
            posix_spawn_file_actions_destroy(&fa)
            posix_spawnattr_destroy(&attr)
        }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in cEnv { free(e) } }
        var p: pid_t = 0
        let rc = posix_spawnp(&p, argv[0], &fa, &attr, cArgs, cEnv)
        guard rc == 0 else { throw DiffTestError("posix_spawn \(argv) failed: errno \(rc)") }
        pid = p
    }

    var isRunning: Bool {
        if status != nil { return false }
        var st: Int32 = 0
        let r = waitpid(pid, &st, WNOHANG)
        if r == 0 { return true }
        status = r == pid ? ((st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)) : -1
        return false
    }

    @discardableResult
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    func terminate() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !wait(seconds: 3) {
            kill(pid, SIGKILL)
            wait(seconds: 30)
        }
    }
}

/// Runs a command to completion (killed by PID after `timeout`); returns (status, output).
@discardableResult
func command(_ argv: [String], timeout: Double = 120) -> (status: Int32, output: String) {
    let log = NSTemporaryDirectory() + "/shiftoverlay-difftest-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
    defer { unlink(log) }
    guard let c = try? Child(argv, log: log) else { return (-1, "spawn failed: \(argv)") }
    if !c.wait(seconds: timeout) { c.terminate() }
    let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return (c.status ?? -1, out)
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
