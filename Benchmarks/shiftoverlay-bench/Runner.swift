import Glibc

/// One timed run of a workload on one system.
struct Sample {
    let seconds: Double
    let cpu: Double?  // daemon utime+stime during the timed part
    let rss: Double?  // daemon VmHWM (MiB) at the end
}

/// The `mounts` command: prepares the layers once, then for each round, each workload, each system
/// (interleaved: ABC ABC ABC) a fresh upper, a fresh mount, the workload, unmount, cleanup.
final class Runner {
    let options: MountOptions
    var results: [String: [System: [Sample]]] = [:]
    var errors: [String: [System: String]] = [:]
    var runCount = 0

    init(_ options: MountOptions) { self.options = options }

    func execute() throws {
        guard geteuid() == 0 else { throw BenchError("mounts: must run as root (mounts overlays, drops caches)") }
        try enterPrivateMountNamespace()
        installInterruptHandlers()
        let started = now()
        let quick = options.quick
        let sizes = quick ? Sizes.quick : Sizes.full
        let rounds = options.rounds ?? (quick ? 1 : 3)
        let binary = options.binary ?? (selfExecutable().map { dirname($0) + "/shiftoverlay" } ?? "shiftoverlay")
        var systems = options.systems
        if systems.contains(.fuseOverlayfs) && !haveProgram("fuse-overlayfs") {
            print("note: fuse-overlayfs is not installed; skipped")
            systems.removeAll { $0 == .fuseOverlayfs }
        }
        if systems.contains(where: \.isShiftoverlay) && access(binary, X_OK) != 0 {
            throw BenchError("no shiftoverlay binary at \(binary) (build with swift build -c release, or --binary)")
        }
        // Scratch on /var/tmp: the same ext4 (with discard) as /tmp on these machines, so deletes of
        // uppers are slow; they happen outside the timed part.
        var template = Array("/var/tmp/shiftoverlay-bench.XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ p in p.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw BenchError("mkdtemp: \(errnoText())")
        }
        let scratch = String(cString: dir)
        commandLog = scratch + "/commands.log"
        var failed = true
        defer {
            if failed {
                print("scratch and logs kept in \(scratch)")
            } else {
                try? run(["rm", "-rf", scratch])
            }
        }
        let layers = try Layers.prepare(cache: options.cache, rootfs: options.rootfs, quick: quick, sizes: sizes,
                                        scratch: scratch)
        let memory = GuestMemory(warmMiB: 2 * sizes.seqMiB + 1024, scratch: scratch)
        defer { memory.restore() }
        let uring = FuseUring()
        defer { uring.restore() }
        var workloads = allWorkloads().filter { !quick || $0.inQuick }
        if let only = options.workloads {
            workloads = workloads.filter { w in only.contains { w.name.hasPrefix($0) } }
        }
        let haveFio = haveProgram("fio")
        if !haveFio { print("note: fio is not installed; the random 4k workloads fail (apt-get install fio)") }
        print("shiftoverlay-bench mounts: \(quick ? "quick" : "full") mode, \(rounds) round(s), systems \(systems.map(\.rawValue).joined(separator: ",")), shiftoverlay binary \(binary)")
        for n in layers.notes { print("  \(n)") }
        print("  scratch \(scratch) (/var/tmp: same ext4 with discard as /tmp; deletes are untimed)")
        for round in 1...rounds {
            for w in workloads {
                for system in systems {
                    try checkInterrupted()
                    let ctx = Context(merged: "", upper: "", layers: layers, sizes: sizes, scratch: scratch,
                                      haveFio: haveFio)
                    do {
                        let s = try runOne(w, system, binary: binary, base: ctx)
                        results[w.name, default: [:]][system, default: []].append(s)
                    } catch {
                        try checkInterrupted()
                        errors[w.name, default: [:]][system] = "\(error)"
                        print("  round \(round) \(w.name) on \(system.rawValue): FAILED: \(error)")
                    }
                }
            }
            print("  round \(round) done after \(Int(now() - started)) s")
        }
        failed = !errors.isEmpty
        print("")
        print(Report(workloads: workloads.map(\.name), systems: systems, results: results, errors: errors).render())
        print("total \(Int(now() - started)) s (median of \(rounds) round(s); ratio = median / kernel overlayfs median; daemon cpu = median utime+stime during the workload; RSS = max VmHWM)")
    }

    /// One workload on one system: fresh upper, fresh mount, untimed preparation, timed body.
    func runOne(_ w: Workload, _ system: System, binary: String, base: Context) throws -> Sample {
        runCount += 1
        let dir = base.scratch + "/run\(runCount)"
        let upper = dir + "/upper"
        let work = dir + "/work"
        let merged = dir + "/merged"
        for d in [upper, work, merged] { try makeDirs(d) }
        defer { try? run(["rm", "-rf", dir]) }
        let ctx = Context(merged: merged, upper: upper, layers: base.layers, sizes: base.sizes, scratch: base.scratch,
                          haveFio: base.haveFio)
        try w.prepareUpper(ctx)
        sync()
        if w.isMount { try dropCaches() }
        let t0 = now()
        let m = try Mount.mount(system, binary: binary, lowers: base.layers.lowers, upper: upper, work: work,
                                merged: merged, log: base.scratch + "/\(system.rawValue).log")
        defer { m.unmount() }
        let mountTime = now() - t0
        if w.isMount { return Sample(seconds: mountTime, cpu: m.cpuSeconds, rss: m.peakRSSMiB) }
        try w.prepare(ctx)
        if w.cold { try dropCaches() } else { sync() }
        let cpu0 = m.cpuSeconds
        let t1 = now()
        try w.body(ctx)
        let dt = now() - t1
        let cpu1 = m.cpuSeconds
        let cpu = cpu0.flatMap { c0 in cpu1.map { $0 - c0 } }
        return Sample(seconds: dt, cpu: cpu, rss: m.peakRSSMiB)
    }
}
