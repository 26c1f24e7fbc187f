import Glibc

/// On a VM whose balloon device reports free pages to the host (virtio-balloon free page
/// reporting), memory the guest frees is handed back and the next touch of it faults in the
/// host: writing 1 GiB then takes 0.3 s or 3 s depending on whether the pages happened to be
/// reported in between, which made `seq write` ratios meaningless. For the run, reporting is
/// turned off (an order above the largest free block, so nothing qualifies) and guest memory for
/// the page cache is touched once; the old setting is restored at the end.
struct GuestMemory {
    static let reportingOrder = "/sys/module/page_reporting/parameters/page_reporting_order"
    let saved: String?

    /// Turns reporting off where the machine has it; touches `warmMiB` of page cache.
    init(warmMiB: Int, scratch: String) {
        guard let old = readFile(Self.reportingOrder)?.split(whereSeparator: \.isWhitespace).first.map(String.init),
            // The largest order accepted is one above the largest free block (11 on x86-64).
            let off = ["63", "16", "12", "11"].first(where: { Self.set($0) })
        else {
            saved = nil
            return
        }
        saved = old
        let file = scratch + "/memory-warm-up"
        try? run(["dd", "if=/dev/zero", "of=\(file)", "bs=1M", "count=\(warmMiB)", "status=none"])
        unlink(file)
        print("  free page reporting to the host off for the run (\(Self.reportingOrder) \(old) -> \(off)); \(warmMiB) MiB of memory touched once")
    }

    func restore() {
        if let saved { _ = Self.set(saved) }
    }

    /// One write(2) of the value (sysfs reports a refused value there, not at close).
    static func set(_ value: String) -> Bool { write(reportingOrder, value) }

    static func write(_ path: String, _ value: String) -> Bool {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        return Glibc.write(fd, bytes, bytes.count) == bytes.count
    }
}

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
        } else if GuestMemory.write(Self.parameter, "Y") {
            print("  FUSE over io_uring on for the run (\(Self.parameter) \(old) -> Y)")
        } else {
            print("  cannot turn on \(Self.parameter): shiftoverlay uses /dev/fuse")
        }
    }

    func restore() {
        if let saved, saved != "Y" { _ = GuestMemory.write(Self.parameter, saved) }
    }
}
