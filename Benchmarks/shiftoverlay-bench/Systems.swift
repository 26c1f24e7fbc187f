import Glibc

/// An overlay implementation under test.
enum System: String, CaseIterable {
    case shiftoverlay
    case kernel
    case fuseOverlayfs = "fuse-overlayfs"
    /// metacopy=on (kernel: with redirect_dir=on, which it requires); opt-in with --systems.
    case shiftoverlayMetacopy = "shiftoverlay-metacopy"
    case kernelMetacopy = "kernel-metacopy"
    /// shiftoverlay with uring=off: requests over /dev/fuse only (to compare transports); opt-in.
    case shiftoverlayDevFuse = "shiftoverlay-devfuse"
    /// shiftoverlay with prefetch=0: no directory listing ahead of a walk; opt-in.
    case shiftoverlayNoPrefetch = "shiftoverlay-noprefetch"

    /// What a run measures unless --systems says otherwise.
    static let defaults: [System] = [.shiftoverlay, .kernel, .fuseOverlayfs]

    var isShiftoverlay: Bool {
        self == .shiftoverlay || self == .shiftoverlayMetacopy || self == .shiftoverlayDevFuse || self == .shiftoverlayNoPrefetch
    }
}

/// One live mount: the merged directory and, for FUSE, the daemon (started with `-f`, so its PID is
/// ours). `unmount()` is idempotent and always leaves the mount gone and the daemon reaped.
final class Mount {
    let system: System
    let merged: String
    let daemon: Child?
    private var mounted = true

    private init(system: System, merged: String, daemon: Child?) {
        self.system = system
        self.merged = merged
        self.daemon = daemon
    }

    /// Mounts `system` with the given layers and waits until the merged root answers `stat`.
    static func mount(_ system: System, binary: String, lowers: [String], upper: String, work: String,
                      merged: String, log: String) throws -> Mount
    {
        var opts = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
        if system == .shiftoverlayMetacopy { opts += ",metacopy=on" }
        if system == .kernelMetacopy { opts += ",metacopy=on,redirect_dir=on" }
        if system == .shiftoverlayDevFuse { opts += ",uring=off" }
        if system == .shiftoverlayNoPrefetch { opts += ",prefetch=0" }
        switch system {
        case .kernel, .kernelMetacopy:
            if Glibc.mount("overlay", merged, "overlay", 0, opts) != 0 {
                throw BenchError("mount -t overlay \(merged): \(errnoText())")
            }
            return Mount(system: system, merged: merged, daemon: nil)
        case .shiftoverlay, .shiftoverlayMetacopy, .shiftoverlayDevFuse, .shiftoverlayNoPrefetch, .fuseOverlayfs:
            let program = system.isShiftoverlay ? binary : "fuse-overlayfs"
            let child = try Child([program, "-f", "-o", opts, merged], stdout: log, stderr: log)
            let m = Mount(system: system, merged: merged, daemon: child)
            let deadline = now() + 20
            var nap: UInt32 = 50
            while !isMounted(merged) {
                guard child.isRunning else {
                    throw BenchError("\(program) exited with status \(child.exitStatus ?? -1) before mounting (log \(log))")
                }
                guard now() < deadline else {
                    m.unmount()
                    throw BenchError("\(program) did not mount \(merged) within 20 s (log \(log))")
                }
                usleep(nap)
                nap = min(nap * 2, 1_000)
            }
            var st = stat()
            if stat(merged, &st) != 0 {
                let e = errnoText()
                m.unmount()
                throw BenchError("stat \(merged) through \(program): \(e)")
            }
            return m
        }
    }

    var cpuSeconds: Double? { daemon.flatMap { processCPUSeconds($0.pid) } }
    var peakRSSMiB: Double? { daemon.flatMap { processPeakRSSMiB($0.pid) } }

    /// Unmounts (fusermount3 -u / umount; lazy as a last resort) and reaps the daemon by PID.
    func unmount() {
        guard mounted else { return }
        mounted = false
        if let d = daemon {
            if isMounted(merged) { try? run(["fusermount3", "-u", merged], timeout: 30, allowFailure: true) }
            if !d.wait(seconds: 20) {
                if isMounted(merged) { try? run(["fusermount3", "-u", "-z", merged], timeout: 30, allowFailure: true) }
                d.terminate()
            }
        } else if umount2(merged, 0) != 0 {
            umount2(merged, Int32(MNT_DETACH))
        }
        if isMounted(merged) { umount2(merged, Int32(MNT_DETACH)) }
    }

    deinit { unmount() }
}
