import Glibc

/// FUSE over io_uring (Linux 6.14+) is off unless the fuse module's enable_uring parameter is
/// on; shiftoverlay uses it when it is (uring=auto). The run turns it on, as an administrator
/// deploying shiftoverlay would, and restores the old value at the end. fuse-overlayfs 1.10
/// (libfuse 3.14) never asks for io_uring, so it is unaffected.
struct FuseUring {
    static let parameter = "/sys/module/fuse/parameters/enable_uring"
    let saved: String?

    init() {
        guard let old = readFile(Self.parameter)?.split(whereSeparator: \.isWhitespace).first.map(String.init) else {
            print("  this kernel has no FUSE over io_uring (\(Self.parameter) missing): shiftoverlay uses /dev/fuse")
            saved = nil
            return
        }
        saved = old
        if old == "Y" {
            print("  FUSE over io_uring already on (\(Self.parameter) Y)")
        } else if writeSysfs(Self.parameter, "Y") {
            print("  FUSE over io_uring on for the run (\(Self.parameter) \(old) -> Y)")
        } else {
            print("  cannot turn on \(Self.parameter): shiftoverlay uses /dev/fuse")
        }
    }

    func restore() {
        if let saved, saved != "Y" { _ = writeSysfs(Self.parameter, saved) }
    }
}
