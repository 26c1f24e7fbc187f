import FuseAdapter
import Glibc
import LayerAPI
import OverlayEngine
import PosixLayer

public enum ShiftCLI {
    public static let version = "0.1.0"

    /// Runs the command line; returns the process exit status. Parsing is pure (`Parser.parse`);
    /// everything that touches the system happens here, before libfuse forks the daemon.
    public static func run(_ arguments: [String]) -> Int32 {
        let command: Command
        do {
            command = try Parser.parse(arguments, facts: HostFacts.current())
        } catch {
            DaemonLog.write(error.message)
            return 1
        }
        switch command {
        case .help:
            print(usage)
            return 0
        case .version:
            print("shiftoverlay version \(version)\nFUSE library version \(DaemonLog.fuseVersion)")
            return 0
        case .mount(let plan):
            for w in plan.warnings { DaemonLog.write(w, level: .warning) }
            do {
                let engine = try Startup.makeEngine(plan)
                return runFuse(engine: engine, config: plan.fuseConfig)
            } catch {
                DaemonLog.write(error.message)
                return 1
            }
        }
    }

    static let usage = """
        usage: shiftoverlay [-f] [-d] [-s] -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR][,OPT...] [SOURCE] MOUNTPOINT

        A userland overlay filesystem, compatible with fuse-overlayfs's command line.

          -f                   stay in the foreground
          -d                   libfuse debug output (implies -f)
          -s                   single-threaded
          -o OPT[,OPT...]      options (may repeat; '\\,' is a literal comma):
             lowerdir=A[:B...] lower layers, leftmost on top ('\\:' is a literal colon)
             upperdir=DIR      writable layer (needs workdir=); without it the mount is read-only
             workdir=DIR       work directory on the upper layer's filesystem
             uidmapping=D:V:N[:D:V:N...]  stored ids D.. appear as V.. (count N)
             gidmapping=D:V:N[:D:V:N...]  the same for groups
             timeout=SECONDS   kernel entry/attribute cache timeout (default: a day)
             fsync=0|1         honour fsync and sync copy-ups (default 1)
             volatile          same as fsync=0
             threaded=N        0: single thread, 1: default pool, N: up to N threads
             FUSE/mount options (allow_other, default_permissions, ro, nosuid, nodev, noexec,
             fsname=, subtype=, ...) are passed to libfuse.
          -h, --help           this text
          -V, --version        version information
        """
}

extension HostFacts {
    /// The facts of this process: cwd, effective uid, the kernel's overflow ids.
    public static func current() -> HostFacts {
        var cwd = "/"
        if let p = getcwd(nil, 0) {
            cwd = String(cString: p)
            free(p)
        }
        return HostFacts(
            cwd: cwd, isRoot: geteuid() == 0,
            overflowUID: readID("/proc/sys/kernel/overflowuid") ?? 65534,
            overflowGID: readID("/proc/sys/kernel/overflowgid") ?? 65534)
    }

    private static func readID(_ path: String) -> UInt32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: buf[0..<n], as: UTF8.self).filter { $0.isNumber }
        return UInt32(text)
    }
}
