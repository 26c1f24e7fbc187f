import LayerAPI
import Sys

/// The mount's read-ahead window. The kernel gives a FUSE mount 128 KiB (and the INIT reply can
/// only lower it), so a sequential read of a lower file costs a READ request per 128 KiB, where
/// the layers' own disk may read ahead megabytes. As root the window is raised through the
/// mount's backing device info (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb), as an administrator
/// would; without the right to, the kernel's default stays.
extension AdapterContext {
    func setReadahead() {
        let (kib, mountpoint) = readahead
        guard kib > 0 else { return }
        guard let mount = mountTable().last(where: { $0.mountpoint == mountpoint && $0.type.hasPrefix("fuse") }) else {
            DaemonLog.write("read-ahead not set: \(mountpoint) is not in /proc/self/mountinfo", level: .warning)
            return
        }
        do {
            try writeExistingFile("/sys/class/bdi/\(mount.device)/read_ahead_kb", "\(kib)\n")
        } catch {
            if error != .EACCES && error != .EPERM && error != .EROFS {
                DaemonLog.write("read-ahead not set on \(mountpoint) (bdi \(mount.device)): \(error)", level: .warning)
            }
        }
    }
}
