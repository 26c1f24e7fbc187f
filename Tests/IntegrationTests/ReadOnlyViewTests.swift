// Read-only view: a subtree of the host's /usr as the bottom lower, a small generated lower on
// top (overrides, new files, `.wh.` and char-device whiteouts, an opaque directory).

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct ReadOnlyView {
        @Test func usrWithGeneratedTopLayerMatchesKernel() throws {
            let base = Env.usrSubtree
            try UsrTopLayer.checkBase(base)
            let s = try Scratch("ro")
            defer { s.remove() }
            let top = try s.dir("top")  // with `.wh.NAME` image whiteouts (read by shiftoverlay only)
            let ktop = try s.dir("ktop")  // the same layer with kernel whiteouts instead (oracle)
            try UsrTopLayer.build(top)
            try UsrTopLayer.build(ktop, imageWhiteoutsAsKernel: true)

            let kernel = try withKernelOverlay(s, lowers: [ktop, base]) { try simpleListing($0) }
            try #require(kernel.count > 1000, "the oracle listing is too small to mean anything")

            try withShiftoverlay(s, lowers: [top, base]) { m in
                let mnt = m.mountpoint
                // 1. The whole tree: paths, types, sizes, modes, owners equal the kernel's.
                let listing = try simpleListing(mnt)
                #expect(listing.count == kernel.count, "entries: shiftoverlay \(listing.count), kernel \(kernel.count)")
                if listing != kernel {
                    let k = Set(kernel)
                    let l = Set(listing)
                    Issue.record(
                        """
                        listing differs from kernel overlayfs
                        only shiftoverlay: \(listing.filter { !k.contains($0) }.prefix(20))
                        only kernel: \(kernel.filter { !l.contains($0) }.prefix(20))
                        """)
                }
                // 2. `.wh.` files are never visible; whited-out names are absent.
                #expect(!listing.contains { $0.contains("/.wh.") }, "a .wh. file is visible")
                for name in UsrTopLayer.hidden {
                    #expect(lstatErrno(mnt + "/" + name) == ENOENT, "\(name) should be whited out")
                    #expect(!listing.contains { $0.hasPrefix("./\(name) ") || $0.hasPrefix("./\(name)/") })
                }
                for name in UsrTopLayer.imageWhiteouts {
                    #expect(lstatErrno(mnt + "/.wh." + name) == ENOENT)
                }
                let rootNames = listDir(mnt) ?? []
                #expect(rootNames.count > 10)
                #expect(Set(rootNames).isDisjoint(with: UsrTopLayer.hidden))
                #expect(!rootNames.contains { $0.hasPrefix(".wh.") })
                // 3. Overrides show the top layer's content; new files are there.
                for rel in UsrTopLayer.overrides {
                    #expect(read(mnt + "/" + rel) == UsrTopLayer.overrideText(rel), "\(rel)")
                    #expect(read(base + "/" + rel) != UsrTopLayer.overrideText(rel))
                }
                for rel in UsrTopLayer.newFiles { #expect(read(mnt + "/" + rel) == UsrTopLayer.newText(rel)) }
                // A merged directory shows both layers.
                let linux = listDir(mnt + "/linux") ?? []
                #expect(linux.contains("shiftoverlay-new.h") && linux.contains("types.h"))
                #expect(linux.count == (listDir(base + "/linux") ?? []).count + 1)
                // 4. The opaque directory hides the base's content.
                #expect(listDir(mnt + "/" + UsrTopLayer.opaqueDir) == UsrTopLayer.opaqueContent)
                for hiddenName in (listDir(base + "/" + UsrTopLayer.opaqueDir) ?? []).prefix(5) {
                    #expect(lstatErrno(mnt + "/" + UsrTopLayer.opaqueDir + "/" + hiddenName) == ENOENT)
                }
                // 5. A sample of regular files (every 20th) reads byte-identical to its source.
                let files = listing.filter { $0.split(separator: " ").dropFirst().first == "f" }
                    .map { String($0.split(separator: " ")[0].dropFirst(2)) }
                let sample = stride(from: 0, to: files.count, by: 20).map { files[$0] }
                #expect(sample.count > 50)
                var compared = 0
                for rel in sample {
                    let src = lstatErrno(top + "/" + rel) == 0 ? top + "/" + rel : base + "/" + rel
                    let a = FileManager.default.contents(atPath: mnt + "/" + rel)
                    let b = FileManager.default.contents(atPath: src)
                    #expect(a != nil && a == b, "\(rel) differs from \(src)")
                    compared += 1
                }
                #expect(compared == sample.count)
                // `cmp` on a few, as a user would.
                for rel in sample.prefix(5) {
                    let src = lstatErrno(top + "/" + rel) == 0 ? top + "/" + rel : base + "/" + rel
                    #expect(run(["cmp", mnt + "/" + rel, src]).ok)
                }
                // 6. No upperdir: the mount is read-only.
                #expect(!run(["touch", mnt + "/new-file"]).ok)
                #expect(lstatErrno(mnt + "/new-file") == ENOENT)
            }
        }
    }
}
