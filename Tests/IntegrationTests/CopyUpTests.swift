// Copy-up preserves mode, owner, mtime (ns), user xattrs, sparse holes, and the parents' mtimes.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct CopyUp {
        @Test func copyUpPreservesMetadataHolesAndParentTimes() throws {
            let s = try Scratch("copyup")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try CopyUpLayer.build(lower)
            // Preconditions, so nothing passes vacuously.
            let lf = try #require(lstatPath(lower + "/f.txt"))
            try #require(lf.st_uid == 1234 && lf.st_gid == 5678 && lf.st_mode & 0o7777 == 0o640)
            try #require(mtimeNs(lf) == CopyUpLayer.mtimeNs)
            let ls = try #require(lstatPath(lower + "/sparse"))
            try #require(ls.st_size == 100 << 20 && ls.st_blocks * 512 < 1 << 20, "lower sparse file is not sparse")

            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                try CopyUp.check(mnt: m.mountpoint, upper: upper, lower: lower)
            }
        }

        /// The copy-up expectations, applied through a mounted view (also run through kernel
        /// overlayfs by the harness self-check, so they are known to match the kernel).
        static func check(mnt: String, upper: String, lower: String) throws {
            let rootBefore = try #require(lstatPath(mnt))
            let dBefore = try #require(lstatPath(mnt + "/d"))
            #expect(mtimeNs(dBefore) == CopyUpLayer.dirMtimeNs)
            #expect(lstatErrno(upper + "/f.txt") == ENOENT)

            // Copy-up of f.txt through an xattr change (touches neither mode, owner nor times).
            sh("setfattr -n user.c -v 3 f.txt", cwd: mnt)
            #expect(lstatErrno(upper + "/f.txt") == 0, "f.txt was not copied up")
            for path in [mnt + "/f.txt", upper + "/f.txt"] {
                guard let st = lstatPath(path) else {
                    Issue.record("\(path) missing")
                    continue
                }
                #expect(st.st_mode & 0o7777 == 0o640, "\(path) mode")
                #expect(st.st_uid == 1234 && st.st_gid == 5678, "\(path) owner")
                #expect(mtimeNs(st) == CopyUpLayer.mtimeNs, "\(path) mtime")
                #expect(read(path) == "keep my metadata\n")
                let x = run(["getfattr", "-d", "-m", "^user\\.", "--absolute-names", path]).stdout
                #expect(
                    x.contains("user.a=\"1\"") && x.contains("user.b=\"two\"") && x.contains("user.c=\"3\""),
                    "\(path) xattrs: \(x)")
            }
            // The copy-up itself did not change the parent's (the root's) mtime.
            if let rootAfter = lstatPath(mnt) { #expect(mtimeNs(rootAfter) == mtimeNs(rootBefore)) }

            // Copy-up of a file in a lower-only directory: the directory is copied up with its mtime.
            sh("setfattr -n user.g -v 1 d/g.txt", cwd: mnt)
            #expect(lstatErrno(upper + "/d/g.txt") == 0, "d/g.txt was not copied up")
            if let st = lstatPath(mnt + "/d") { #expect(mtimeNs(st) == CopyUpLayer.dirMtimeNs, "merged d mtime") }
            if let st = lstatPath(upper + "/d") { #expect(mtimeNs(st) == CopyUpLayer.dirMtimeNs, "upper d mtime") }

            // Sparse: chmod triggers copy-up; holes are kept.
            sh("chmod 0600 sparse", cwd: mnt)
            if let st = lstatPath(upper + "/sparse") {
                #expect(st.st_size == 100 << 20)
                #expect(st.st_mode & 0o7777 == 0o600)
                #expect(st.st_blocks * 512 < 4 << 20, "copy-up filled the holes: \(st.st_blocks * 512) bytes used")
            } else {
                Issue.record("sparse was not copied up")
            }
            let du = run(["du", "-k", upper + "/sparse"]).stdout.split(separator: "\t").first.flatMap { Int($0) }
            #expect(du != nil && du! < 4096, "du says \(du ?? -1) KiB")
            #expect(run(["cmp", mnt + "/sparse", lower + "/sparse"]).ok)
        }
    }
}
