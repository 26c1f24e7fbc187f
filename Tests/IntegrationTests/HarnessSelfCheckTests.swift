// Checks of the harness itself, runnable before shiftoverlay mounts anything: the kernel
// overlayfs oracle on the generated layers, the workload through the kernel, mountinfo parsing.

import Foundation
import Sys
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct HarnessSelfCheck {
        @Test func mountinfoUnescape() {
            #expect(unescapeMountinfo(Array("/tmp/a\\040b\\011c\\134d".utf8)) == "/tmp/a b\tc\\d")
            #expect(unescapeMountinfo(Array("/plain".utf8)) == "/plain")
            #expect(isMounted("/"))
        }

        @Test func binaryIsBuiltNextToTheTests() {
            #expect(FileManager.default.isExecutableFile(atPath: Env.binary), "missing \(Env.binary)")
        }

        @Test func runCapturesOutputAndStatus() {
            let r = run(["/bin/bash", "-c", "echo out; echo err >&2; exit 3"])
            #expect(r.status == 3 && r.stdout == "out\n" && r.stderr == "err\n")
            // Large outputs must not deadlock.
            #expect(run(["seq", "1", "200000"]).stdout.split(separator: "\n").count == 200_000)
        }

        @Test func watchdogKillsAHungChild() throws {
            let c = try Child(["sleep", "100"], stdout: "/dev/null", stderr: "/dev/null")
            let w = Watchdog(seconds: 0.3, pid: c.pid)
            #expect(c.wait(seconds: 10))
            #expect(w.cancel())
            #expect(c.killedBySignal)
            let quiet = try Child(["true"], stdout: "/dev/null", stderr: "/dev/null")
            let w2 = Watchdog(seconds: 5, pid: quiet.pid)
            #expect(quiet.wait(seconds: 5) && quiet.exitStatus == 0)
            #expect(!w2.cancel())
        }

        /// The copy-up expectations hold on kernel overlayfs.
        @Test func copyUpExpectationsHoldOnKernel() throws {
            let s = try Scratch("selfcheck-copyup")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            try CopyUpLayer.build(lower)
            try withKernelOverlay(s, lowers: [lower], upper: upper) { mnt in
                try CopyUp.check(mnt: mnt, upper: upper, lower: lower)
            }
        }

        /// The oracle itself: kernel overlayfs over the generated top layer and /usr's subtree.
        @Test func kernelOracleOverUsrLayers() throws {
            let base = Env.usrSubtree
            try UsrTopLayer.checkBase(base)
            let s = try Scratch("selfcheck")
            defer { s.remove() }
            let ktop = try s.dir("ktop")
            try UsrTopLayer.build(ktop, imageWhiteoutsAsKernel: true)
            let listing = try withKernelOverlay(s, lowers: [ktop, base]) { mnt in
                for rel in UsrTopLayer.overrides {
                    #expect(read(mnt + "/" + rel) == UsrTopLayer.overrideText(rel))
                }
                for rel in UsrTopLayer.newFiles { #expect(read(mnt + "/" + rel) == UsrTopLayer.newText(rel)) }
                for name in UsrTopLayer.hidden { #expect(lstatErrno(mnt + "/" + name) == ENOENT, "\(name)") }
                #expect(listDir(mnt + "/" + UsrTopLayer.opaqueDir) == UsrTopLayer.opaqueContent)
                return try simpleListing(mnt)
            }
            #expect(listing.count > 1000, "expected a few thousand entries, got \(listing.count)")
            #expect(listing.contains("./stdio.h f \(UsrTopLayer.overrideText("stdio.h").utf8.count) 644 0 0"))
            #expect(!listing.contains { $0.hasPrefix("./errno.h ") || $0.hasPrefix("./netinet") })
            #expect(!isMounted(s.root + "/mnt"))
        }

        /// The read-write workload through the kernel, then a kernel remount shows the same view:
        /// proves the workload and `TreeView` are deterministic across mounts.
        @Test func kernelWorkloadIsStableAcrossRemounts() throws {
            let s = try Scratch("selfcheck-rw")
            defer { s.remove() }
            let top = try s.dir("top")
            let bottom = try s.dir("bottom")
            let upper = try s.dir("upper")
            try RWLayers.build(top: top, bottom: bottom)
            let mnt = try s.dir("kmnt")
            let first = try withKernelOverlay(s, lowers: [top, bottom], upper: upper, mountpoint: mnt) { mnt in
                RWLayers.applyChanges(mnt: mnt, scratch: s.root)
                return try TreeView(mnt)
            }
            RWLayers.checkUpper(upper: upper, bottom: bottom)
            let second = try withKernelOverlay(s, lowers: [top, bottom], upper: upper, mountpoint: mnt) {
                try TreeView($0)
            }
            let same = first == second
            #expect(same, "\(first.diff(second))")
            #expect(first.listing.count > 30)
            #expect(!isMounted(mnt))
        }
    }
}
