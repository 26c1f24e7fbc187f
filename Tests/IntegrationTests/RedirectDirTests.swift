// redirect_dir=on interoperability with kernel overlayfs (redirect_dir=on), both ways: an upper
// shiftoverlay made by renaming lower and merged directories reads back the same through the
// kernel, and one the kernel made the same way reads back the same through shiftoverlay.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct RedirectDir {
        /// Two lowers: a tree under a/ (with a directory both layers have), and k/.
        static func buildLowers(_ top: String, _ bottom: String) {
            sh(
                """
                mkdir -p a/b/e a/c/d k
                printf 'f\\n' > a/b/f
                printf 'deep\\n' > a/b/e/deep
                printf 'x\\n' > a/c/x
                printf 'y\\n' > a/c/d/y
                printf 'g\\n' > a/g
                printf 'k\\n' > k/k
                setfattr -n user.tag -v c a/c
                chmod 750 a/c/d
                touch -d '2001-02-03 04:05:06.123456789' a/b/f a/c/x a/c/d/y a/g
                """, cwd: top)
            sh(
                """
                mkdir -p a/c a/m
                printf 'from bottom\\n' > a/c/bottom
                printf 'm\\n' > a/m/m
                touch -d '2002-02-03 04:05:06' a/c/bottom a/m/m
                """, cwd: bottom)
        }

        /// Directory renames of every kind: within a directory and across, of a lower-only and
        /// of a merged directory, again after a first rename, a child of a moved directory, a
        /// whiteout and a copy-up inside moved directories, a new directory at an old name.
        static let changes = """
            mkdir n
            printf 'new\\n' > a/c/new
            rm a/c/x
            mv a/c a/c2
            mv a/b n/b
            mv n/b n/b2
            mv a/c2/d top-d
            mkdir a/c
            printf 'again\\n' > a/c/z
            printf 'edit\\n' >> top-d/y
            mv a a-renamed
            mv k n/k
            """

        static func xattr(_ path: String, _ name: String) -> String? {
            let r = run(["getfattr", "--only-values", "-h", "-n", name, path])
            return r.ok ? r.stdout : nil
        }

        /// The two lowers (built by `buildLowers`), an empty upper and work directory in `s`.
        static func layers(_ s: Scratch) throws -> (top: String, bottom: String, upper: String, work: String) {
            let top = try s.dir("l0")
            let bottom = try s.dir("l1")
            buildLowers(top, bottom)
            return (top, bottom, try s.dir("upper"), try s.dir("work"))
        }

        static func expectedView(_ t: TreeView) {
            #expect(t.listing.contains { $0.hasPrefix("./a-renamed/c2/bottom f") })
            #expect(t.listing.contains { $0.hasPrefix("./n/b2/e/deep f") })
            #expect(t.listing.contains { $0.hasPrefix("./top-d/y f") })
            #expect(!t.listing.contains { $0.hasPrefix("./a ") || $0.hasPrefix("./a/") || $0.hasPrefix("./k ") })
            #expect(!t.listing.contains { $0.hasPrefix("./a-renamed/c2/x ") })
            #expect(t.listing.contains { $0.hasPrefix("./a-renamed/c/z f") })
        }

        @Test func shiftoverlayUpperReadsBackThroughKernel() throws {
            let s = try Scratch("redirect-so")
            defer { s.remove() }
            let (top, bottom, upper, work) = try Self.layers(s)
            let ours = try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, extra: ["redirect_dir=on"]) { m in
                sh(Self.changes, cwd: m.mountpoint)
                #expect(read(m.mountpoint + "/top-d/y") == "y\nedit\n")
                return try TreeView(m.mountpoint)
            }
            Self.expectedView(ours)
            // The kernel's format: names within a directory, absolute lower paths across.
            #expect(Self.xattr(upper + "/a-renamed", "trusted.overlay.redirect") == "a")
            #expect(Self.xattr(upper + "/a-renamed/c2", "trusted.overlay.redirect") == "c")
            #expect(Self.xattr(upper + "/n/b2", "trusted.overlay.redirect") == "/a/b")
            #expect(Self.xattr(upper + "/top-d", "trusted.overlay.redirect") == "/a/c/d")
            #expect(Self.xattr(upper + "/n/k", "trusted.overlay.redirect") == "/k")
            #expect(Self.xattr(upper + "/a-renamed", "trusted.overlay.opaque") == nil)
            #expect(listDir(upper + "/n/b2") == [], "children are not copied up")
            let kernel = try withKernelOverlay(s, lowers: [top, bottom], upper: upper, extra: ["redirect_dir=on"]) { try TreeView($0) }
            #expect(ours == kernel, "shiftoverlay vs kernel:\n\(ours.diff(kernel))")
            // Without redirect_dir=on shiftoverlay still follows what it wrote, and refuses new ones.
            try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work) { m in
                let again = try TreeView(m.mountpoint)
                #expect(again == ours, "redirect_dir=off:\n\(ours.diff(again))")
                #expect(rename(m.mountpoint + "/n/b2", m.mountpoint + "/n/b3") != 0 && errno == EXDEV)
            }
        }

        @Test func kernelUpperReadsBackThroughShiftoverlay() throws {
            let s = try Scratch("redirect-k")
            defer { s.remove() }
            let (top, bottom, upper, work) = try Self.layers(s)
            let kernel = try withKernelOverlay(s, lowers: [top, bottom], upper: upper, extra: ["redirect_dir=on"]) { mnt in
                sh(Self.changes, cwd: mnt)
                return try TreeView(mnt)
            }
            try #require(Self.xattr(upper + "/n/b2", "trusted.overlay.redirect") == "/a/b", "the kernel made no redirect")
            Self.expectedView(kernel)
            for extra in [["redirect_dir=on"], []] {
                try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, extra: extra) { m in
                    let ours = try TreeView(m.mountpoint)
                    #expect(ours == kernel, "kernel vs shiftoverlay \(extra):\n\(kernel.diff(ours))")
                }
            }
            // More renames through shiftoverlay on the kernel's upper; the kernel agrees.
            let after = try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, extra: ["redirect_dir=on"]) { m in
                sh("mv n/b2 b4 && mv a-renamed/c2 n/c3 && printf 'w\\n' > n/c3/w", cwd: m.mountpoint)
                #expect(read(m.mountpoint + "/n/c3/bottom") == "from bottom\n")
                return try TreeView(m.mountpoint)
            }
            let again = try withKernelOverlay(s, lowers: [top, bottom], upper: upper, extra: ["redirect_dir=on"]) { try TreeView($0) }
            #expect(after == again, "shiftoverlay vs kernel:\n\(after.diff(again))")
        }
    }
}
