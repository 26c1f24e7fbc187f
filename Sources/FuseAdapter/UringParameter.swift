import LayerAPI
import Sys

/// The fuse module's switch for FUSE over io_uring (off by default in Linux 6.14+). With
/// uring=on the daemon turns it on as root, as an administrator would with
/// `echo 1 > /sys/module/fuse/parameters/enable_uring`; it only lets FUSE servers that ask for
/// io_uring use it, so other FUSE mounts are unaffected.
let uringModuleParameter = "/sys/module/fuse/parameters/enable_uring"

func enableUringModuleParameter() {
    guard let value = (try? readWholeFile(uringModuleParameter)).map({ String(decoding: $0, as: UTF8.self) }) else {
        DaemonLog.write("uring=on: this kernel has no FUSE over io_uring (\(uringModuleParameter) missing); using /dev/fuse",
            level: .warning)
        return
    }
    guard !value.hasPrefix("Y") && !value.hasPrefix("1") else { return }
    do {
        try writeExistingFile(uringModuleParameter, "1\n")
    } catch {
        DaemonLog.write("uring=on: cannot turn on \(uringModuleParameter) (\(error)); using /dev/fuse", level: .warning)
    }
}

extension AdapterContext {
    /// ", io_uring 2x2 threads, N requests" or "" for the status line.
    var uringStatus: String {
        guard let transport = uring.withLock({ $0 }) else { return ", /dev/fuse only" }
        return ", " + transport.status
    }
}
