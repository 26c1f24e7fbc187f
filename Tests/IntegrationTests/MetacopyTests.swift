// metacopy=on interoperability with kernel overlayfs (metacopy=on,redirect_dir=on), both ways:
// an upper shiftoverlay made by chown -R, renames and a write reads back the same through the
// kernel, and one the kernel made reads back the same through shiftoverlay.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Metacopy {
        /// A lower tree: files of several sizes (one of 4 MiB), a subdirectory, an xattr.
        static func buildLower(_ lower: String) {
            sh(
                """
                mkdir -p a/b a/c/d
                printf 'hello\\n' > a/b/f
                printf 'world\\n' > a/g
                printf 'three\\n' > a/j
                printf 'same-dir\\n' > a/c/x
                printf 'deep\\n' > a/c/d/y
                head -c 4194304 /dev/urandom > a/big
                setfattr -n user.k -v v a/g
                chmod 640 a/c/x
                touch -d '2001-02-03 04:05:06.123456789' a/b/f a/g a/j a/c/x a/c/d/y a/big
                """, cwd: lower)
        }

        /// Metadata changes, renames (across directories and within one), a hard link and an
        /// append: what a container start does to an image.
        static let changes = """
            chown -R 1234:5678 a
            chmod 600 a/g
            mv a/b/f a/h
            mv a/c/x a/c/x2
            mv a/c/d/y a/c/d/y2
            mv a/c/d/y2 a/y3
            ln a/j a/j2
            printf 'more\\n' >> a/j
            """

        /// Mounts kernel overlayfs with metacopy for the duration of `body`; always unmounts.
        static func withKernelMetacopy<T>(
            _ s: Scratch, lower: String, upper: String, _ body: (String) throws -> T
        ) throws -> T {
            try withKernelOverlay(s, lowers: [lower], upper: upper, extra: ["metacopy=on", "redirect_dir=on"], body)
        }

        static func xattr(_ path: String, _ name: String) -> String? {
            let r = run(["getfattr", "--only-values", "-h", "-n", name, path])
            return r.ok ? r.stdout : nil
        }

        @Test func shiftoverlayUpperReadsBackThroughKernel() throws {
            let s = try Scratch("metacopy-so")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            Self.buildLower(lower)
            let ours = try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: ["metacopy=on"]) { m in
                sh(Self.changes, cwd: m.mountpoint)
                #expect(read(m.mountpoint + "/a/h") == "hello\n")
                return try TreeView(m.mountpoint)
            }
            // Metadata only in the upper: the 4 MiB file is a hole with the marker.
            let big = try #require(lstatPath(upper + "/a/big"))
            #expect(big.st_size == 4 << 20 && big.st_blocks * 512 < 64 << 10, "a/big was copied with its data")
            #expect(big.st_uid == 1234)
            #expect(Self.xattr(upper + "/a/big", "trusted.overlay.metacopy") == "")
            #expect(Self.xattr(upper + "/a/h", "trusted.overlay.redirect") == "/a/b/f")
            #expect(Self.xattr(upper + "/a/j", "trusted.overlay.metacopy") == nil, "written file still marked")
            #expect(lstatErrno(lower + "/a/h") == ENOENT)
            let kernel = try Self.withKernelMetacopy(s, lower: lower, upper: upper) { try TreeView($0) }
            #expect(ours == kernel, "shiftoverlay vs kernel:\n\(ours.diff(kernel))")
            #expect(ours.listing.contains { $0.hasPrefix("./a/big f 644 1234 5678 size=4194304") })
        }

        @Test func kernelUpperReadsBackThroughShiftoverlay() throws {
            let s = try Scratch("metacopy-k")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            Self.buildLower(lower)
            let kernel = try Self.withKernelMetacopy(s, lower: lower, upper: upper) { mnt in
                sh(Self.changes, cwd: mnt)
                return try TreeView(mnt)
            }
            try #require(Self.xattr(upper + "/a/big", "trusted.overlay.metacopy") == "", "the kernel made no metacopy file")
            try #require(Self.xattr(upper + "/a/c/x2", "trusted.overlay.redirect") == "x")
            for extra in [["metacopy=on"], []] {
                try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: extra) { m in
                    let ours = try TreeView(m.mountpoint)
                    #expect(ours == kernel, "kernel vs shiftoverlay \(extra):\n\(kernel.diff(ours))")
                }
            }
            // A write through shiftoverlay to a file the kernel left as metadata only.
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: ["metacopy=on"]) { m in
                sh("printf 'X' | dd of=a/c/x2 bs=1 seek=2 conv=notrunc status=none", cwd: m.mountpoint)
                #expect(read(m.mountpoint + "/a/c/x2") == "saXe-dir\n")
            }
            #expect(Self.xattr(upper + "/a/c/x2", "trusted.overlay.metacopy") == nil)
            try Self.withKernelMetacopy(s, lower: lower, upper: upper) { mnt in
                #expect(read(mnt + "/a/c/x2") == "saXe-dir\n")
                #expect(read(mnt + "/a/y3") == "deep\n")
            }
        }
    }
}
