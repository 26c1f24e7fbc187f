import CLinux
import Glibc
import LayerAPI

/// CPUs as the kernel numbers its FUSE ring queues (one per possible CPU).
public enum CPUs {
    /// The number of possible CPUs (/sys/devices/system/cpu/possible, e.g. "0-1"); nil when
    /// that file cannot be read (counting only online CPUs would leave a queue unregistered).
    public static func possible() -> Int? {
        guard let bytes = try? readWholeFile("/sys/devices/system/cpu/possible") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        var highest = -1
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let bounds = part.split(separator: "-")
            if let last = bounds.last, let n = Int(last) { highest = max(highest, n) }
        }
        return highest >= 0 ? highest + 1 : nil
    }

    /// Pins the calling thread to `cpu`; the errno when the kernel refuses (CPU offline or
    /// outside the process's cpuset).
    public static func pinCurrentThread(to cpu: Int) -> Errno? {
        let rc = clinux_pin_to_cpu(Int32(cpu))
        return rc == 0 ? nil : Errno(rawValue: -rc)
    }
}

