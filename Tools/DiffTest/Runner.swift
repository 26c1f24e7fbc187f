import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A difference between shiftoverlay and kernel overlayfs after `ops` (the last op is the one
/// after which they first differed; `ops` empty: the freshly mounted trees already differ).
public struct DiffMismatch: Sendable {
    public let seed: UInt64
    public let ops: [DiffOp]
    public let detail: String
    public let mode: DiffMode

    public init(seed: UInt64, ops: [DiffOp], detail: String, mode: DiffMode = .plain) {
        self.seed = seed
        self.ops = ops
        self.detail = detail
        self.mode = mode
    }

    /// A Swift Testing test reproducing this mismatch, to paste into DifferentialTests.swift.
    public var regressionTest: String {
        let flag = mode == .plain ? "" : " --\(mode.rawValue)"
        let name = mode == .plain ? "difftestSeed\(seed)" : "difftest\(mode.rawValue.capitalized)Seed\(seed)"
        var s = "@Test func \(name)() throws {\n"
        s += "    // shiftoverlay-difftest\(flag) --seed \(seed): \(detail.split(separator: "\n").first ?? "")\n"
        s += "    try Self.expectSame(seed: \(seed)" + (mode == .plain ? "" : ", mode: .\(mode.rawValue)") + ", ops: [\n"
        for op in ops { s += "        \(op.swiftLiteral),\n" }
        s += "    ])\n}\n"
        return s
    }
}

/// The outcome of one seed.
public struct DiffSeedResult: Sendable {
    public let seed: UInt64
    /// Operations applied to both systems and found equal (results and trees).
    public let opsCompared: Int
    public let mismatch: DiffMismatch?
    /// The sequence as first found, before shrinking.
    public let originalLength: Int
    /// How often each kind of operation succeeded or failed with each errno ("rename EXDEV").
    public let outcomes: [String: Int]
}

/// The differential tester: one seed's layer stack, generated once into a pristine directory;
/// every run (the random one and each shrinking replay) starts from two fresh `cp -a` copies of
/// it, one mounted with shiftoverlay and one with kernel overlayfs, and applies each op to both,
/// comparing the op's result (return value or errno) and then the whole visible tree.
public final class DiffTester {
    public let seed: UInt64
    public let mode: DiffMode
    let binary: String
    let scratch: String
    let pristine: StackDirs
    private var runCounter = 0
    private var outcomes: [String: Int] = [:]
    public var log: (String) -> Void = { _ in }

    /// `binary`: the shiftoverlay executable. `base`: where the scratch directory goes.
    public init(seed: UInt64, binary: String, base: String = NSTemporaryDirectory(), mode: DiffMode = .plain) throws {
        self.seed = seed
        self.mode = mode
        self.binary = binary
        scratch = try makeTempDir(base: base.isEmpty ? "/tmp" : base, tag: "s\(seed)")
        let dir = scratch + "/pristine"
        do {
            let n = try LayerGen.build(seed: seed, in: dir)
            pristine = StackDirs(dir: dir, lowerCount: n)
        } catch {
            removeTree(scratch)
            throw error
        }
    }

    /// Generates the seed's layer stack into `dir` (`lower0`… top first, `upper`), for inspection;
    /// returns the lowerdir/upperdir part of the mount options.
    public static func generate(seed: UInt64, into dir: String) throws -> String {
        let n = try LayerGen.build(seed: seed, in: dir)
        let s = StackDirs(dir: dir, lowerCount: n)
        return "lowerdir=\(s.lowers.joined(separator: ":")),upperdir=\(s.upper)"
    }

    /// Removes the scratch directory (detaching anything still mounted there).
    public func cleanup() { removeTree(scratch) }

    /// Runs up to `count` random operations (stopping early at `deadline`); on a mismatch,
    /// shrinks the sequence (bounded by `shrinkSeconds`).
    public func runRandom(count: Int, deadline: Date, shrinkSeconds: Double = 120) throws -> DiffSeedResult {
        var rng = SeededRandom(seed: seed ^ 0x4F50_5321)
        var done: [DiffOp] = []
        let found = try session { step in
            guard done.count < count, Date() < deadline else { return nil }
            let op = DiffOp.random(existing: step.paths, dirs: step.dirs, rng: &rng)
            done.append(op)
            return op
        }
        let counts = outcomes
        guard let found else {
            return DiffSeedResult(seed: seed, opsCompared: done.count, mismatch: nil, originalLength: 0, outcomes: counts)
        }
        log("seed \(seed): mismatch after \(found.ops.count) ops; shrinking")
        let shrunk = try shrink(found, seconds: shrinkSeconds)
        return DiffSeedResult(
            seed: seed, opsCompared: max(found.ops.count - 1, 0), mismatch: shrunk, originalLength: found.ops.count,
            outcomes: counts)
    }

    /// Replays `ops` from fresh copies; the first mismatch, or nil.
    public func replay(_ ops: [DiffOp]) throws -> DiffMismatch? {
        var i = 0
        return try session { _ in
            guard i < ops.count else { return nil }
            defer { i += 1 }
            return ops[i]
        }
    }

    /// Delta debugging: drop chunks (halves, quarters, … single ops) while some mismatch
    /// persists, replaying from fresh copies every time.
    func shrink(_ m: DiffMismatch, seconds: Double) throws -> DiffMismatch {
        let deadline = Date().addingTimeInterval(seconds)
        var best = m
        var n = 2
        while best.ops.count >= 2, Date() < deadline {
            let ops = best.ops
            let chunk = (ops.count + n - 1) / n
            var reduced = false
            var start = 0
            while start < ops.count, Date() < deadline {
                var candidate = ops
                candidate.removeSubrange(start..<min(start + chunk, ops.count))
                if let again = try replay(candidate) {
                    best = again
                    reduced = true
                    break
                }
                start += chunk
            }
            if reduced {
                n = max(n - 1, 2)
            } else {
                if n >= ops.count { break }
                n = min(ops.count, n * 2)
            }
        }
        if best.ops.count == 1, let again = try replay([]) { best = again }
        return best
    }

    /// One run: fresh copies, both mounts, then `next` is asked for ops until it returns nil.
    private func session(_ next: (TreeSnapshot) -> DiffOp?) throws -> DiffMismatch? {
        runCounter += 1
        let dir = scratch + "/run\(runCounter)"
        try makeDirs(dir)
        defer { removeTree(dir) }
        let a = StackDirs(dir: dir + "/shift", lowerCount: pristine.lowerCount)
        let b = StackDirs(dir: dir + "/kernel", lowerCount: pristine.lowerCount)
        try checkedCommand(["cp", "-a", pristine.dir, a.dir])
        try checkedCommand(["cp", "-a", pristine.dir, b.dir])
        return try withMountPair(binary: binary, shift: a, kernel: b, in: dir, mode: mode) { sroot, kroot, beat in
            var ops: [DiffOp] = []
            var kernelTree = TreeSnapshot(root: kroot)
            let shiftTree = TreeSnapshot(root: sroot)
            if shiftTree != kernelTree {
                return DiffMismatch(
                    seed: seed, ops: [],
                    detail: "trees differ before any operation\n" + shiftTree.diff(kernelTree, left: "shiftoverlay", right: "kernel"),
                    mode: mode)
            }
            while let op = next(kernelTree) {
                beat()
                ops.append(op)
                let rs = op.apply(root: sroot)
                let rk = op.apply(root: kroot)
                let outcome = rk.hasPrefix("ok") || rk.hasPrefix("unlink ok") ? "ok" : String(rk.prefix(while: { $0 != "," }))
                outcomes[op.kind + " " + outcome, default: 0] += 1
                if rs != rk {
                    return DiffMismatch(
                        seed: seed, ops: ops,
                        detail: "result of \(op.swiftLiteral): shiftoverlay \(rs), kernel \(rk)", mode: mode)
                }
                kernelTree = TreeSnapshot(root: kroot)
                let s = TreeSnapshot(root: sroot)
                if s != kernelTree {
                    return DiffMismatch(
                        seed: seed, ops: ops,
                        detail: "trees differ after \(op.swiftLiteral) (result \(rs))\n"
                            + s.diff(kernelTree, left: "shiftoverlay", right: "kernel"), mode: mode)
                }
            }
            return nil
        }
    }
}
