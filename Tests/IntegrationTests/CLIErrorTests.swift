// Bad command lines fail with exit status 1 and a message naming the option and the path, mount
// nothing and change nothing on disk.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct CLIErrors {
        /// A scratch area with valid layers; each case breaks one thing.
        struct Layers {
            let s: Scratch
            let lower: String
            let upper: String
            let work: String
            let mnt: String
            init() throws {
                s = try Scratch("cli")
                lower = try s.dir("lower")
                upper = try s.dir("upper")
                work = try s.dir("work")
                mnt = try s.dir("mnt")
                try write(lower + "/f", "x")
            }
        }

        /// Runs the binary, expects exit 1 with every `needles` in stderr, no mount, and the
        /// scratch tree unchanged.
        func expectRejected(_ l: Layers, _ args: [String], _ needles: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let before = try simpleListing(l.s.root)
            let r = run([Env.binary] + args, timeout: 30)
            defer { if isMounted(l.mnt) { _ = run(["fusermount3", "-u", "-z", l.mnt], timeout: 10) } }
            #expect(r.status == 1, "\(args): \(r)", sourceLocation: sourceLocation)
            for n in needles {
                #expect(r.stderr.contains(n), "stderr lacks '\(n)': \(r.stderr)", sourceLocation: sourceLocation)
            }
            #expect(!isMounted(l.mnt), sourceLocation: sourceLocation)
            #expect(try simpleListing(l.s.root) == before, "the command changed files on disk", sourceLocation: sourceLocation)
        }

        @Test func missingLowerdir() throws {
            let l = try Layers()
            defer { l.s.remove() }
            try expectRejected(l, ["-o", "lowerdir=\(l.s.root)/nope", l.mnt], ["lowerdir", "\(l.s.root)/nope"])
        }

        @Test func lowerdirIsAFile() throws {
            let l = try Layers()
            defer { l.s.remove() }
            try expectRejected(l, ["-o", "lowerdir=\(l.lower)/f", l.mnt], ["lowerdir", "not a directory"])
        }

        @Test func missingUpperAndWorkdir() throws {
            let l = try Layers()
            defer { l.s.remove() }
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(l.s.root)/nope,workdir=\(l.work)", l.mnt], ["upperdir", "nope"])
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(l.upper),workdir=\(l.s.root)/nope", l.mnt], ["workdir", "nope"])
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(l.upper)", l.mnt], ["workdir"])
        }

        @Test func workdirOnAnotherFilesystem() throws {
            let l = try Layers()
            defer { l.s.remove() }
            // /dev/shm is a tmpfs, /tmp is not.
            let other = try #require(FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : nil)
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(l.upper),workdir=\(other)", l.mnt], ["same filesystem", other])
        }

        @Test func nestedOrSharedLayerDirectories() throws {
            let l = try Layers()
            defer { l.s.remove() }
            let inner = try l.s.dir("upper/w")
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(l.upper),workdir=\(inner)", l.mnt], ["inside upperdir"])
            let innerUpper = try l.s.dir("work/u")
            try expectRejected(l, ["-o", "lowerdir=\(l.lower),upperdir=\(innerUpper),workdir=\(l.work)", l.mnt], ["inside workdir"])
            try expectRejected(l, ["-o", "lowerdir=\(l.upper),upperdir=\(l.upper),workdir=\(l.work)", l.mnt], ["also a lowerdir"])
        }

        @Test func mountpointMissingOrAlreadyOurs() throws {
            let l = try Layers()
            defer { l.s.remove() }
            try expectRejected(l, ["-o", "lowerdir=\(l.lower)", l.s.root + "/nomnt"], ["mountpoint", "nomnt"])
            try withShiftoverlay(l.s, lowers: [l.lower], mountpoint: l.mnt) { _ in
                let r = run([Env.binary, "-o", "lowerdir=\(l.lower)", l.mnt], timeout: 30)
                #expect(r.status == 1)
                #expect(r.stderr.contains("already a shiftoverlay mount"), "\(r)")
                #expect(read(l.mnt + "/f") == "x", "the first mount must keep working")
            }
        }

        @Test func badMappings() throws {
            let l = try Layers()
            defer { l.s.remove() }
            let base = "lowerdir=\(l.lower),upperdir=\(l.upper),workdir=\(l.work),"
            try expectRejected(l, ["-o", base + "uidmapping=0:100000", l.mnt], ["uidmapping"])
            try expectRejected(l, ["-o", base + "uidmapping=0:100000:10:5:200000:10", l.mnt], ["uidmapping", "overlap"])
            try expectRejected(l, ["-o", base + "gidmapping=0:4294967290:100", l.mnt], ["gidmapping"])
            try expectRejected(l, ["-o", base + "uidmapping=a:b:c", l.mnt], ["uidmapping"])
        }

        @Test func misspeltLayerOption() throws {
            let l = try Layers()
            defer { l.s.remove() }
            try expectRejected(l, ["-o", "lowerdri=\(l.lower)", l.mnt], ["lowerdir"])
        }

        @Test func helpAndVersionExitZero() throws {
            let h = run([Env.binary, "--help"], timeout: 10)
            #expect(h.status == 0 && h.stdout.contains("lowerdir="))
            let v = run([Env.binary, "-V"], timeout: 10)
            #expect(v.status == 0 && v.stdout.contains("shiftoverlay version"))
        }
    
        /// A non-root user with no access to /dev/fuse and no setuid fusermount3 gets a clear
        /// error. (Inside the test run's private mount namespace: a 0600 device node and a
        /// non-setuid copy of fusermount3 are bind-mounted over the real ones for this test.)
        @Test func noPermissionForDevFuse() throws {
            let l = try Layers()
            defer { l.s.remove() }
            sh(
                """
                mknod -m 0600 fuse c 10 229
                cp /usr/bin/fusermount3 fusermount3 && chmod 0755 fusermount3
                chmod 0755 . lower && chown 1000:1000 mnt
                """, cwd: l.s.root)
            let b1 = run(["/bin/mount", "--bind", l.s.root + "/fuse", "/dev/fuse"])
            defer { _ = run(["/bin/umount", "/dev/fuse"]) }
            let b2 = run(["/bin/mount", "--bind", l.s.root + "/fusermount3", "/usr/bin/fusermount3"])
            defer { _ = run(["/bin/umount", "/usr/bin/fusermount3"]) }
            try #require(b1.ok && b2.ok, "\(b1) \(b2)")
            let r = run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", Env.binary, "-o", "lowerdir=\(l.lower)", l.mnt], timeout: 30)
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.contains("/dev/fuse") && r.stderr.contains("fusermount3"), "\(r.stderr)")
            #expect(!isMounted(l.mnt))
        }
    }
}
