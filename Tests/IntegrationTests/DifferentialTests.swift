// The kernel-oracle differential tester, bounded for CI: a fixed set of seeds, each a seeded
// random layer stack and a seeded random operation sequence applied to shiftoverlay and to kernel
// overlayfs (fresh `cp -a` copies of the same stack), comparing every op's result and the whole
// visible tree after every op (see Tools/DiffTest). A mismatch is shrunk and printed as a
// ready-to-paste regression test (`Differential.expectSame`). The long campaign is
// `scripts/difftest.sh`.

import DiffTest
import Foundation
import Testing

extension Integration {
    @Suite struct Differential {
        /// Seeds run in CI, and the time they may take together (the suite's bound is 60 s: the
        /// rest is set-up and shrinking a mismatch, itself bounded).
        static let seeds: [UInt64] = Array(1...12)
        static let opsPerSeed = 150
        static let budgetSeconds = 35.0
        static let metacopyBudgetSeconds = 40.0
        static let shrinkSeconds = 20.0

        @Test func fixedSeedsMatchKernelOverlayfs() throws {
            let total = try Self.run(Self.seeds, mode: .plain, budget: Self.budgetSeconds, label: "")
            // The bound must not make the check vacuous.
            #expect(total >= 100, "only \(total) operations compared")
        }

        /// The metacopy mode (kernel metacopy=on,redirect_dir=on against shiftoverlay
        /// metacopy=on): metadata-only copy-ups, file and directory redirects. A few seeds in CI;
        /// `MODE=metacopy bash scripts/difftest.sh` is the campaign.
        @Test func fixedSeedsMatchKernelOverlayfsWithMetacopy() throws {
            let total = try Self.run(Array(Self.seeds.prefix(3)), mode: .metacopy, budget: Self.metacopyBudgetSeconds, label: " with metacopy")
            #expect(total >= Self.opsPerSeed, "only \(total) operations compared")
        }

        /// Runs the seeds in `mode` until the budget is spent;
        /// records the first mismatch as an issue. Returns how many operations were compared.
        static func run(_ seeds: [UInt64], mode: DiffMode, budget: Double, label: String) throws -> Int {
            let deadline = Date().addingTimeInterval(budget)
            var total = 0
            for seed in seeds where Date() < deadline {
                let t = try DiffTester(seed: seed, binary: Env.binary, mode: mode)
                defer { t.cleanup() }
                let r = try t.runRandom(count: opsPerSeed, deadline: deadline, shrinkSeconds: shrinkSeconds)
                total += r.opsCompared
                if let m = r.mismatch {
                    Issue.record(
                        "shiftoverlay differs from kernel overlayfs\(label) (seed \(seed), \(r.originalLength) ops, shrunk to \(m.ops.count)):\n\(m.detail)\nRegression test:\n\(m.regressionTest)"
                    )
                    break
                }
            }
            return total
        }

        /// Replays `ops` on the layer stack of `seed` and expects no difference: the form in
        /// which the tester prints a shrunk mismatch.
        static func expectSame(
            seed: UInt64, mode: DiffMode = .plain, ops: [DiffOp], sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let t = try DiffTester(seed: seed, binary: Env.binary, mode: mode)
            defer { t.cleanup() }
            if let m = try t.replay(ops) {
                Issue.record("seed \(seed): \(m.detail)", sourceLocation: sourceLocation)
            }
        }

        // Regressions found by the tester (shrunk sequences as printed).

        /// Hard links: a change made through one name left another name's cached attributes
        /// stale (each name is its own FUSE node). Fixed: no attribute caching for nlink > 1.
        @Test func difftestSeed4() throws {
            try Self.expectSame(
                seed: 4,
                ops: [
                    .link("c", "e/h"),
                    .mkdir("e/f", mode: 0o755),
                    .link("c", "e/f/c"),
                ])
        }

        @Test func difftestSeed1() throws {
            try Self.expectSame(
                seed: 1,
                ops: [
                    .mkdir("a", mode: 0o2775),
                    .link("e", "a/d"),
                    .utimens("a/d", sec: 978366664, nsec: 622227109),
                ])
        }

        /// Creating a file with setuid/setgid bits lost them (chown after chmod).
        @Test func difftestSeed5() throws {
            try Self.expectSame(seed: 5, ops: [.create("c/b/h", mode: 0o4755)])
        }

        /// truncate(2) to 0 of a lower file copied it up empty and skipped the truncate, so the
        /// copy kept the lower mtime where the kernel's copy-up-and-truncate stamps "now".
        @Test func difftestSeed307() throws {
            try Self.expectSame(seed: 307, ops: [.truncate("e", size: 0)])
            try Self.expectSame(seed: 327, ops: [.truncate("f/c/a", size: 0)])
        }

        /// Renaming one name of a hard-linked file onto another (a no-op) left the engine's
        /// node at the old name while the kernel had moved it: the new name later said ENOENT.
        @Test func difftestSeed50() throws {
            try Self.expectSame(
                seed: 50,
                ops: [
                    .unlink("f"),
                    .create("h", mode: 0o755),
                    .link("h", "f"),
                    .rename("f", "g", flags: 0),
                    .rename("h", "g", flags: 0),
                    .rename("d", "h", flags: 0),
                ])
        }

        /// A rename of a lower directory onto a non-empty directory that only the upper layer
        /// has fails with ENOTEMPTY in the kernel's upper rename, after the source was copied
        /// up (it then shows as merged, link count 1) and the whiteout for its old name was
        /// prepared (its old parent's mtime is now); shiftoverlay refused before copying.
        @Test func difftestMetacopySeed80And103() throws {
            try Self.expectSame(seed: 80, mode: .metacopy, ops: [.rename("d/c", "d/e", flags: 0), .rename("d/e/b", "d/d", flags: 0)])
            try Self.expectSame(seed: 103, mode: .metacopy, ops: [.rename("b/b", "c", flags: 0)])
            try Self.expectSame(seed: 103, mode: .metacopy, ops: [.chmod("b/b", mode: 0o755), .rename("b/b", "c", flags: 0)])
        }
    }
}
