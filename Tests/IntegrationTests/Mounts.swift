// Harness for mount-based integration tests (see SWIFT-LIBFUSE-NOTES.md §5).
//
// - The `shiftoverlay` binary is found next to the test bundle (directory of /proc/self/exe).
// - Each test gets its own `mkdtemp` scratch directory; nothing is shared between tests.
// - shiftoverlay is started in the foreground (`-f`) as a child `Process`; we poll
//   /proc/self/mountinfo until the mountpoint appears (10 s deadline, fail early if it exits).
// - Every mount is made through `withShiftoverlay` / `withKernelOverlay`, which unmount in a
//   `defer`, so a failing test never leaves a mount behind. `Scratch.remove()` additionally
//   detaches anything still mounted below the scratch directory before `rm -rf --one-file-system`.
// - Processes are only ever signalled by PID, and only processes this harness started (or, for the
//   daemonized case, a process whose command line names our unique scratch mountpoint).

import ChildProcess
import Foundation
import Sys
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Environment

enum Env {
    /// Mount tests need root and /dev/fuse. CI satisfies both, so the tests really run there.
    static let canMount: Bool = geteuid() == 0 && access("/dev/fuse", F_OK) == 0

    /// Directory holding the test bundle (and the built products, including `shiftoverlay`).
    static let productsDir: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (exe as NSString).deletingLastPathComponent
    }()

    /// The program under test: the built `shiftoverlay`, or `SHIFTOVERLAY_TEST_BINARY` (e.g.
    /// `/usr/bin/fuse-overlayfs`, to check the tests themselves against the reference program).
    static var binary: String {
        ProcessInfo.processInfo.environment["SHIFTOVERLAY_TEST_BINARY"] ?? productsDir + "/shiftoverlay"
    }

    /// The subtree of the host's /usr used as the bottom lower in the read-only test.
    static let usrSubtree = "/usr/include"
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: - Running commands

struct RunResult: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String
    var ok: Bool { status == 0 }
    var description: String { "status \(status)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))" }
}

/// Children are started by `ChildProcess` (posix_spawn with an empty signal mask: Foundation's
/// `Process` passes the test runner's blocked SIGTERM on to the daemon, and waits for every holder
/// of an inherited socket, i.e. for a daemon too).
typealias Child = ChildProcess

extension ChildProcess {
    convenience init(_ argv: [String], stdout: String, stderr: String, env: [String: String] = [:]) throws {
        try self.init(argv, stdin: "/dev/null", stdout: stdout, stderr: stderr, environment: env)
    }
}

/// Runs `argv` (argv[0] is looked up on PATH unless absolute; `cwd` through `env -C`) with stdin
/// from /dev/null, stdout/stderr captured through temporary files (no pipe deadlocks on big
/// outputs). A process still running after `timeout` seconds is terminated by its PID.
@discardableResult
func run(_ argv: [String], cwd: String? = nil, timeout: Double = 300, env: [String: String] = [:]) -> RunResult {
    precondition(!argv.isEmpty)
    let outPath = tempFile("out")
    let errPath = tempFile("err")
    defer {
        unlink(outPath)
        unlink(errPath)
    }
    var full = argv
    if let cwd { full = ["/usr/bin/env", "-C", cwd] + argv }
    var environment = ["LC_ALL": "C", "TZ": "UTC"]
    for (k, v) in env { environment[k] = v }
    let child: Child
    do { child = try Child(full, stdout: outPath, stderr: errPath, env: environment) } catch {
        return RunResult(status: -1, stdout: "", stderr: "harness: \(error)")
    }
    let timedOut = !child.wait(seconds: timeout)
    if timedOut { child.terminate(grace: 2) }
    let o = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    var e = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    if timedOut { e += "\nharness: timed out after \(timeout) s: \(argv)" }
    return RunResult(status: timedOut ? -2 : child.exitStatus ?? -1, stdout: o, stderr: e)
}

/// `bash -euo pipefail -c script`; records an issue (with output) on failure.
@discardableResult
func sh(
    _ script: String, cwd: String, sourceLocation: SourceLocation = #_sourceLocation
) -> RunResult {
    let r = run(["/bin/bash", "-euo", "pipefail", "-c", script], cwd: cwd)
    #expect(r.ok, "shell failed: \(script)\n\(r)", sourceLocation: sourceLocation)
    return r
}

private func tempFile(_ tag: String) -> String {
    var template = Array((NSTemporaryDirectory() + "/shiftoverlay-it-\(tag).XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd >= 0 { close(fd) }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

// MARK: - Scratch directories

/// A unique `mkdtemp` directory per test. Call `remove()` in a `defer`.
final class Scratch {
    let root: String

    init(_ tag: String = "t") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/shiftoverlay-it.\(tag).XXXXXX".utf8CString)
        let ok = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard ok else { throw HarnessError("mkdtemp failed: errno \(errno)") }
        let made = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // Canonical path: it must match /proc/self/mountinfo and must not contain ':' or ','.
        root = (try? Sys.realPath(made)) ?? made
        chmod(root, 0o755)
    }

    /// Creates (with parents) and returns `root/name`.
    @discardableResult
    func dir(_ name: String) throws -> String {
        let p = root + "/" + name
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        chmod(p, 0o755)
        return p
    }

    /// Detaches anything still mounted below `root` (deepest first), then removes the tree.
    func remove() {
        for m in mountPoints().filter({ $0 == root || $0.hasPrefix(root + "/") }).sorted(by: { $0.count > $1.count }) {
            Issue.record("harness: \(m) was still mounted at cleanup; detaching")
            _ = run(["fusermount3", "-u", "-z", m], timeout: 10)
            if isMounted(m) { _ = run(["/bin/umount", "-l", m], timeout: 10) }
        }
        _ = run(["rm", "-rf", "--one-file-system", root], timeout: 120)
    }
}

// MARK: - Mount table

/// Mount points of this namespace (the mount table is Sys's parser of /proc/self/mountinfo).
func mountPoints() -> [String] { mountTable().map(\.mountpoint) }

/// Filesystem type of the topmost mount at `path`, if any.
func mountType(_ path: String) -> String? { mountTable().last { $0.mountpoint == path }?.type }

func isMounted(_ path: String) -> Bool { mountPoints().contains(path) }

// MARK: - shiftoverlay mounts

/// A running `shiftoverlay -f` daemon serving `mountpoint`.
final class ShiftMount {
    let mountpoint: String
    let child: Child
    let logPath: String
    private var unmounted = false

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var pid: pid_t { child.pid }

    /// Starts `shiftoverlay -f <args> mountpoint` and waits (≤ 10 s) until it is mounted.
    init(args: [String], mountpoint: String, logPath: String) throws {
        self.mountpoint = mountpoint
        self.logPath = logPath
        guard FileManager.default.isExecutableFile(atPath: Env.binary) else {
            throw HarnessError("shiftoverlay binary not found at \(Env.binary)")
        }
        guard !isMounted(mountpoint) else { throw HarnessError("\(mountpoint) is already a mount point") }
        child = try Child([Env.binary, "-f"] + args + [mountpoint], stdout: logPath, stderr: logPath)
        let deadline = Date().addingTimeInterval(10)
        while !isMounted(mountpoint) {
            if !child.isRunning {
                throw HarnessError(
                    "shiftoverlay exited (status \(child.exitStatus ?? -1)) before mounting \(mountpoint); args \(args); output:\n\(log)"
                )
            }
            if Date() > deadline {
                stop()
                throw HarnessError("shiftoverlay did not mount \(mountpoint) within 10 s; output:\n\(log)")
            }
            usleep(5_000)
        }
    }

    /// `fusermount3 -u`, then waits for the daemon to exit (SIGTERM, then SIGKILL, by PID if it
    /// does not). Records an issue if unmounting or the daemon's exit did not happen cleanly.
    func unmount(sourceLocation: SourceLocation = #_sourceLocation) {
        guard !unmounted else { return }
        unmounted = true
        let r = run(["fusermount3", "-u", mountpoint], timeout: 20)
        if !r.ok {
            Issue.record("fusermount3 -u \(mountpoint) failed: \(r)", sourceLocation: sourceLocation)
        }
        if !child.wait(seconds: 5) {
            Issue.record("shiftoverlay (pid \(pid)) still running 5 s after unmount", sourceLocation: sourceLocation)
        }
        stop()
    }

    /// Last resort (and idempotent): SIGTERM then SIGKILL to our child, by PID; detach the mount
    /// if it is still there.
    func stop() {
        child.terminate()
        if isMounted(mountpoint) {
            _ = run(["fusermount3", "-u", "-z", mountpoint], timeout: 10)
            if isMounted(mountpoint) { _ = run(["/bin/umount", "-l", mountpoint], timeout: 10) }
        }
    }
}

/// Builds the `-o` value: `lowerdir=A:B[,upperdir=U,workdir=W][,extra]`.
func overlayOptions(lowers: [String], upper: String? = nil, work: String? = nil, extra: [String] = []) -> String {
    var o = ["lowerdir=" + lowers.joined(separator: ":")]
    if let upper { o.append("upperdir=" + upper) }
    if let work { o.append("workdir=" + work) }
    return (o + extra).joined(separator: ",")
}

/// Mounts shiftoverlay (`-f`) for the duration of `body`; always unmounts and reaps the daemon.
func withShiftoverlay<T>(
    _ scratch: Scratch, lowers: [String], upper: String? = nil, work: String? = nil, extra: [String] = [],
    mountpoint: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (ShiftMount) throws -> T
) throws -> T {
    let mnt = try mountpoint ?? scratch.dir("mnt-shift-\(UUID().uuidString.prefix(8))")
    let log = scratch.root + "/shiftoverlay-\(UUID().uuidString.prefix(8)).log"
    let m = try ShiftMount(
        args: ["-o", overlayOptions(lowers: lowers, upper: upper, work: work, extra: extra)],
        mountpoint: mnt, logPath: log)
    defer { m.unmount(sourceLocation: sourceLocation) }
    // A hung daemon would block this process in a syscall forever; killing the daemon aborts the
    // FUSE connection (pending requests fail with ENOTCONN), so the test fails instead of hanging.
    let watchdog = Watchdog(seconds: 180, pid: m.pid)
    defer {
        if watchdog.cancel() {
            Issue.record(
                "shiftoverlay (pid \(m.pid)) was killed: the test body hung for 180 s", sourceLocation: sourceLocation)
        }
    }
    #expect(mountType(mnt)?.hasPrefix("fuse") == true, "mount type at \(mnt): \(mountType(mnt) ?? "none")")
    return try body(m)
}

/// SIGKILLs `pid` (our daemon child) unless cancelled within `seconds`.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var fired = false

    init(seconds: Double, pid: pid_t) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            fired = true
            kill(pid, SIGKILL)
        }
    }

    /// Disarms the watchdog; true if it had already fired.
    func cancel() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        done = true
        return fired
    }
}

// MARK: - Kernel overlayfs (the oracle)

/// Mounts kernel overlayfs for the duration of `body` (a fresh, empty workdir is made when there
/// is an upper: the kernel needs its own). Always unmounts.
func withKernelOverlay<T>(
    _ scratch: Scratch, lowers: [String], upper: String? = nil, mountpoint: String? = nil, extra: [String] = [],
    _ body: (String) throws -> T
) throws -> T {
    let tag = UUID().uuidString.prefix(8)
    let mnt = try mountpoint ?? scratch.dir("mnt-kernel-\(tag)")
    var work: String?
    if upper != nil { work = try scratch.dir("kwork-\(tag)") }
    let opts = overlayOptions(lowers: lowers, upper: upper, work: work, extra: extra)
    let r = run(["/bin/mount", "-t", "overlay", "overlay", "-o", opts, mnt], timeout: 30)
    guard r.ok, isMounted(mnt) else { throw HarnessError("kernel overlay mount failed (-o \(opts)): \(r)") }
    defer {
        let u = run(["/bin/umount", mnt], timeout: 30)
        if !u.ok {
            Issue.record("umount \(mnt) failed: \(u)")
            _ = run(["/bin/umount", "-l", mnt], timeout: 10)
        }
    }
    return try body(mnt)
}

// MARK: - File-system helpers

/// lstat, or nil on failure (see `lstatErrno` for the errno).
func lstatPath(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

func lstatErrno(_ path: String) -> Int32 {
    var st = stat()
    return lstat(path, &st) == 0 ? 0 : errno
}

func mtimeNs(_ st: stat) -> Int64 { Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec) }

func write(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

func read(_ path: String) -> String? {
    guard let d = FileManager.default.contents(atPath: path) else { return nil }
    return String(decoding: d, as: UTF8.self)
}

func listDir(_ path: String) -> [String]? {
    (try? FileManager.default.contentsOfDirectory(atPath: path))?.sorted()
}

/// A comparable description of a tree: one line per entry, sorted.
/// Directories: path, type, mode, uid, gid. Everything else additionally: size, nlink,
/// mtime (ns), symlink target. Excluded on purpose (kernel overlayfs and a FUSE overlay
/// legitimately differ, or the values cannot be reproduced across mounts):
/// - st_ino / st_dev: each mount has its own device; FUSE inode numbers are per mount.
/// - directory st_size: the kernel shows the upper (or top) real dir's size; FUSE may not.
/// - directory st_nlink: the kernel reports 1 for merged directories.
/// - directory mtime: readdir/attr caching in FUSE may lag within a mount; file mtimes are kept.
/// - atime (noatime vs relatime, and reading changes it) and ctime (not settable; copy-up and
///   chmod/chown set it to "now", differently per implementation).
func treeListing(_ root: String) throws -> [String] {
    let r = run(
        [
            "find", ".", "(", "-type", "d", "-printf", "%p d %m %U %G\\n", ")", "-o",
            "-printf", "%p %y %m %U %G size=%s nlink=%n mtime=%T@ link=%l\\n",
        ], cwd: root)
    guard r.ok else { throw HarnessError("find in \(root) failed: \(r)") }
    return r.stdout.split(separator: "\n").map(String.init).sorted()
}

/// Like `treeListing` but with sizes for all non-directories only (no nlink/mtime): the
/// read-only test's view (`%p %y %s %m %U %G`).
func simpleListing(_ root: String) throws -> [String] {
    let r = run(
        [
            "find", ".", "(", "-type", "d", "-printf", "%p %y - %m %U %G\\n", ")", "-o",
            "-printf", "%p %y %s %m %U %G\\n",
        ], cwd: root)
    guard r.ok else { throw HarnessError("find in \(root) failed: \(r)") }
    return r.stdout.split(separator: "\n").map(String.init).sorted()
}

/// sha256 of every regular file, sorted by path.
func contentHashes(_ root: String) throws -> [String] {
    let r = run(["find", ".", "-type", "f", "-exec", "sha256sum", "{}", "+"], cwd: root)
    guard r.ok else { throw HarnessError("hashing \(root) failed: \(r)") }
    return r.stdout.split(separator: "\n").map(String.init).sorted { $0.dropFirst(66) < $1.dropFirst(66) }
}

/// All visible extended attributes (`getfattr -R -h -d -m -`), as sorted per-file blocks.
func xattrListing(_ root: String) throws -> [String] {
    let r = run(["getfattr", "-R", "-h", "-d", "-m", "-", "-e", "hex", "."], cwd: root)
    guard r.ok else { throw HarnessError("getfattr in \(root) failed: \(r)") }
    return r.stdout.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .filter { !$0.isEmpty }.sorted()
}

/// The full comparable view of a mounted tree.
struct TreeView: Equatable {
    var listing: [String]
    var hashes: [String]
    var xattrs: [String]

    init(_ root: String) throws {
        listing = try treeListing(root)
        hashes = try contentHashes(root)
        xattrs = try xattrListing(root)
    }

    /// Lines present in one view but not the other (for readable failure messages).
    func diff(_ o: TreeView) -> String {
        func d(_ a: [String], _ b: [String], _ what: String) -> String {
            let sa = Set(a)
            let sb = Set(b)
            let onlyA = a.filter { !sb.contains($0) }.prefix(20)
            let onlyB = b.filter { !sa.contains($0) }.prefix(20)
            if onlyA.isEmpty && onlyB.isEmpty { return "" }
            return "\(what): only left:\n  " + onlyA.joined(separator: "\n  ") + "\n only right:\n  "
                + onlyB.joined(separator: "\n  ") + "\n"
        }
        return d(listing, o.listing, "listing") + d(hashes, o.hashes, "hashes") + d(xattrs, o.xattrs, "xattrs")
    }
}

/// Finds processes whose command line mentions `needle` (our unique scratch mountpoint).
func pidsWithCmdline(containing needle: String) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { e -> pid_t? in
        guard let pid = pid_t(e), pid != getpid(),
            let d = FileManager.default.contents(atPath: "/proc/\(e)/cmdline")
        else { return nil }
        let args = d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.contains(needle) ? pid : nil
    }
}

/// True while `pid` exists and is not a zombie.
func processAlive(_ pid: pid_t) -> Bool {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    guard let close = s.lastIndex(of: ")") else { return true }
    let state = s[s.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}
