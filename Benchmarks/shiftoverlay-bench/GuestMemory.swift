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

    static func set(_ value: String) -> Bool { writeSysfs(reportingOrder, value) }
}
