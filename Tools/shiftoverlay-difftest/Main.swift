import DiffTest
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// shiftoverlay-difftest: kernel overlayfs as the oracle. See `DiffTester` and
/// `scripts/difftest.sh`.
///
///   shiftoverlay-difftest [--seed N | --seeds A..B] [--ops N] [--time SECONDS]
///                         [--binary PATH] [--tmp DIR] [--shrink-time SECONDS] [--metacopy]
///
/// Needs root. Re-executes itself under `unshare -m --propagation private` so no mount leaks
/// into the caller's namespace. Exit status: 0 no mismatch, 1 mismatch(es), 2 usage/setup error.
@main
struct DiffTestMain {
    static let usage = """
        usage: shiftoverlay-difftest [--seed N | --seeds A..B] [--ops N] [--time SECONDS]
                                     [--binary PATH] [--tmp DIR] [--shrink-time SECONDS] [--metacopy]
          --seed N          one seed (default 1)
          --seeds A..B      seeds A through B inclusive (with --time and no --seeds: 1, 2, … until time runs out)
          --ops N           random operations per seed (default 300)
          --time SECONDS    stop starting new operations after this long (default: no limit)
          --binary PATH     the shiftoverlay to test (default: next to this program)
          --tmp DIR         scratch base directory (default $TMPDIR or /tmp)
          --shrink-time S   time bound for shrinking one mismatch (default 120)
          --generate DIR    (after --seed) only write that seed's layer stack into DIR, print its options
          --metacopy        kernel with metacopy=on,redirect_dir=on, shiftoverlay with metacopy=on
                            (which implies redirect_dir=on): metadata-only copy-up, file and
                            directory redirects (default: both with their defaults)
        """

    /// Unbuffered output: progress lines appear as they happen, also in a log file.
    static func say(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

    static func fail(_ msg: String) -> Never {
        FileHandle.standardError.write(Data("shiftoverlay-difftest: \(msg)\n".utf8))
        exit(2)
    }

    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if ProcessInfo.processInfo.environment["SHIFTOVERLAY_DIFFTEST_NS"] == nil {
            guard geteuid() == 0 else { fail("needs root (mounts FUSE and kernel overlayfs)") }
            setenv("SHIFTOVERLAY_DIFFTEST_NS", "1", 1)
            let argv = ["unshare", "-m", "--propagation", "private", selfPath] + args
            let cArgs = argv.map { strdup($0) } + [nil]
            execvp("unshare", cArgs)
            fail("exec unshare failed: errno \(errno)")
        }
        var seeds: ClosedRange<UInt64>?
        var opsPerSeed = 300
        var seconds: Double?
        var binary = (selfPath as NSString).deletingLastPathComponent + "/shiftoverlay"
        var tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var shrinkSeconds = 120.0
        var mode = DiffMode.plain
        while !args.isEmpty {
            let a = args.removeFirst()
            if a == "-h" || a == "--help" {
                say(usage)
                exit(0)
            }
            if a == "--metacopy" {
                mode = .metacopy
                continue
            }
            guard let v = args.first else { fail("\(a) needs a value\n\(usage)") }
            args.removeFirst()
            switch a {
            case "--seed":
                guard let s = UInt64(v) else { fail("bad --seed \(v)") }
                seeds = s...s
            case "--seeds":
                let parts = v.components(separatedBy: "..")
                guard parts.count == 2, let lo = UInt64(parts[0]), let hi = UInt64(parts[1]), lo <= hi else {
                    fail("bad --seeds \(v) (want A..B)")
                }
                seeds = lo...hi
            case "--ops":
                guard let n = Int(v), n >= 0 else { fail("bad --ops \(v)") }
                opsPerSeed = n
            case "--time":
                guard let t = Double(v), t > 0 else { fail("bad --time \(v)") }
                seconds = t
            case "--generate":  // debugging aid: write the seed's stack into a directory and exit
                let seed = seeds?.lowerBound ?? 1
                do {
                    say(try DiffTester.generate(seed: seed, into: v))
                    exit(0)
                } catch { fail("\(error)") }
            case "--binary": binary = v
            case "--tmp": tmp = v
            case "--shrink-time":
                guard let t = Double(v), t >= 0 else { fail("bad --shrink-time \(v)") }
                shrinkSeconds = t
            default: fail("unknown option \(a)\n\(usage)")
            }
        }
        guard FileManager.default.isExecutableFile(atPath: binary) else { fail("no shiftoverlay at \(binary)") }
        umask(0o022)
        let range = seeds ?? (seconds == nil ? 1...1 : 1...UInt64.max)
        let deadline = seconds.map { Date().addingTimeInterval($0) } ?? .distantFuture
        let start = Date()
        var total = 0
        var seedsRun = 0
        var mismatches: [DiffMismatch] = []
        var outcomes: [String: Int] = [:]
        for seed in range {
            guard Date() < deadline else { break }
            do {
                let t = try DiffTester(seed: seed, binary: binary, base: tmp, mode: mode)
                defer { t.cleanup() }
                t.log = { say($0) }
                let r = try t.runRandom(count: opsPerSeed, deadline: deadline, shrinkSeconds: shrinkSeconds)
                total += r.opsCompared
                seedsRun += 1
                outcomes.merge(r.outcomes, uniquingKeysWith: +)
                if let m = r.mismatch {
                    mismatches.append(m)
                    say("MISMATCH seed \(seed) (found after \(r.originalLength) ops, shrunk to \(m.ops.count)):")
                    say(m.detail)
                    say("--- regression test ---\n\(m.regressionTest)---")
                } else {
                    say("seed \(seed): \(r.opsCompared) ops, no mismatch")
                }
            } catch {
                say("seed \(seed): setup error: \(error)")
                mismatches.append(DiffMismatch(seed: seed, ops: [], detail: "setup error: \(error)", mode: mode))
            }
        }
        let elapsed = Int(Date().timeIntervalSince(start))
        say("outcomes (kernel side): " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        say("difftest (\(mode.rawValue)): \(seedsRun) seeds, \(total) operations compared, \(mismatches.count) mismatching seeds, \(elapsed) s")
        exit(mismatches.isEmpty ? 0 : 1)
    }
}
