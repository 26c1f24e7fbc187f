import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One copy of a layer stack on disk: `dir/lower0` (top lower) … `dir/lowerN-1`, `dir/upper`.
struct StackDirs {
    let dir: String
    let lowerCount: Int
    var lowers: [String] { (0..<lowerCount).map { "\(dir)/lower\($0)" } }
    var upper: String { dir + "/upper" }

    func options(work: String, extra: [String] = []) -> String {
        (["lowerdir=\(lowers.joined(separator: ":"))", "upperdir=\(upper)", "workdir=\(work)"] + extra)
            .joined(separator: ",")
    }
}

/// Which overlay features both sides run with.
public enum DiffMode: String, Sendable, CaseIterable {
    /// The defaults: no metacopy, no directory redirects (renaming a lower directory is EXDEV).
    case plain
    /// Kernel `metacopy=on,redirect_dir=on`; shiftoverlay `metacopy=on` (which implies
    /// redirect_dir=on): metadata-only copy-up, file and directory redirects.
    case metacopy

    var kernelOptions: [String] { self == .metacopy ? ["metacopy=on", "redirect_dir=on"] : [] }
    var shiftoverlayOptions: [String] { self == .metacopy ? ["metacopy=on"] : [] }
}

/// Mounts shiftoverlay (`-f`, a child process) on `a` and kernel overlayfs on `b` for the duration
/// of `body`; both are always unmounted (and the daemon reaped, by PID) before returning, also
/// when `body` throws. Each mount point sits alone in its own directory (`…/sm/merged`,
/// `…/km/merged`), so a relative symlink that climbs out of a mount root finds nothing.
///
/// A hung daemon would block this process in a syscall for ever: `body` gets a heartbeat to
/// call before each operation, and a watchdog SIGKILLs the daemon (our child, by PID) when no
/// beat came for `hangSeconds`; the FUSE connection then fails with ENOTCONN and the run ends
/// with a mismatch instead of hanging.
func withMountPair<T>(
    binary: String, shift a: StackDirs, kernel b: StackDirs, in dir: String, mode: DiffMode = .plain,
    hangSeconds: Double = 60,
    _ body: (_ shiftRoot: String, _ kernelRoot: String, _ beat: () -> Void) throws -> T
) throws -> T {
    let sm = dir + "/sm/merged"
    let km = dir + "/km/merged"
    let swork = dir + "/swork"
    let kwork = dir + "/kwork"
    for d in [sm, km, swork, kwork] { try makeDirs(d) }
    let log = dir + "/shiftoverlay.log"
    let child = try spawn([binary, "-f", "-o", a.options(work: swork, extra: mode.shiftoverlayOptions), sm], log: log)
    defer {
        if isMounted(sm) { _ = command(["fusermount3", "-u", sm], timeout: 20) }
        if !child.wait(seconds: 5) { child.terminate() }
        if isMounted(sm) {
            _ = command(["fusermount3", "-u", "-z", sm], timeout: 10)
            if isMounted(sm) { _ = command(["umount", "-l", sm], timeout: 10) }
        }
    }
    let deadline = Date().addingTimeInterval(10)
    while !isMounted(sm) {
        if !child.isRunning {
            let out = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw DiffTestError("shiftoverlay exited (\(child.exitStatus ?? -1)) before mounting: \(out)")
        }
        if Date() > deadline { throw DiffTestError("shiftoverlay did not mount \(sm) within 10 s") }
        usleep(5_000)
    }
    try checkedCommand(["mount", "-t", "overlay", "overlay", "-o", b.options(work: kwork, extra: mode.kernelOptions), km], timeout: 30)
    defer {
        if command(["umount", km], timeout: 30).status != 0 { _ = command(["umount", "-l", km], timeout: 10) }
    }
    let watchdog = Watchdog(pid: child.pid, seconds: hangSeconds)
    defer { watchdog.stop() }
    return try body(sm, km) { watchdog.beat() }
}

/// Kills `pid` when `beat()` was not called for `seconds` (see `withMountPair`).
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var last = Date()  // protected by lock
    private var stopped = false  // protected by lock

    init(pid: pid_t, seconds: Double) {
        let t = Thread { [self] in
            while true {
                sleep(1)
                lock.lock()
                let done = stopped
                let idle = Date().timeIntervalSince(last)
                lock.unlock()
                if done { return }
                if idle > seconds {
                    FileHandle.standardError.write(Data("difftest: daemon \(pid) hung for \(Int(idle)) s; killing it\n".utf8))
                    kill(pid, SIGKILL)
                    return
                }
            }
        }
        t.start()
    }

    func beat() {
        lock.lock()
        last = Date()
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }
}
