// /etc/fstab and mount(8) with the type fuse.shiftoverlay: mount.fuse3 looks the program up by the
// subtype on a fixed PATH, so the test bind-mounts a directory holding `shiftoverlay` over
// /usr/local/sbin (inside the test run's private mount namespace) for its duration.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Fstab {
        @Test func fstabLineMountsWithMountAndUnmountsWithUmount() throws {
            let s = try Scratch("fstab")
            defer { s.remove() }
            let lower2 = try s.dir("l2")
            let lower1 = try s.dir("l1")
            let upper = try s.dir("u")
            let work = try s.dir("w")
            let mnt = try s.dir("merged")
            let bin = try s.dir("bin")
            try write(lower2 + "/base.txt", "base\n")
            try write(lower1 + "/top.txt", "top\n")
            try #require(symlink(Env.binary, bin + "/shiftoverlay") == 0)
            let fstab = s.root + "/fstab"
            try write(fstab, "overlay \(mnt) fuse.shiftoverlay lowerdir=\(lower1):\(lower2),upperdir=\(upper),workdir=\(work) 0 0\n")

            let b = run(["/bin/mount", "--bind", bin, "/usr/local/sbin"], timeout: 10)
            try #require(b.ok, "bind mount over /usr/local/sbin: \(b)")
            defer { _ = run(["/bin/umount", "/usr/local/sbin"], timeout: 10) }
            defer {
                if isMounted(mnt) { _ = run(["/bin/umount", "-l", mnt], timeout: 10) }
                for pid in pidsWithCmdline(containing: mnt) where processAlive(pid) { kill(pid, SIGTERM) }
            }

            let m = run(["/bin/mount", "-a", "-T", fstab], timeout: 30)
            try #require(m.ok, "mount -a -T fstab: \(m)")
            #expect(isMounted(mnt))
            let f = run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", mnt], timeout: 10)
            #expect(f.stdout.split(separator: " ", omittingEmptySubsequences: true).map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } == ["overlay", "fuse.shiftoverlay"], "\(f)")
            #expect(read(mnt + "/base.txt") == "base\n")
            #expect(read(mnt + "/top.txt") == "top\n")
            try write(mnt + "/new.txt", "new\n")
            #expect(read(upper + "/new.txt") == "new\n")
            let pids = pidsWithCmdline(containing: mnt).filter(processAlive)
            #expect(pids.count == 1, "one daemon serves \(mnt): \(pids)")

            let u = run(["/bin/umount", mnt], timeout: 20)
            #expect(u.ok, "\(u)")
            #expect(!isMounted(mnt))
            let deadline = Date().addingTimeInterval(5)
            while pids.contains(where: processAlive) && Date() < deadline { usleep(10_000) }
            #expect(!pids.contains(where: processAlive), "daemon still running after umount")

            // The same line by mountpoint alone (mount MNT reads the fstab entry).
            let again = run(["/bin/mount", "-T", fstab, mnt], timeout: 30)
            #expect(again.ok, "\(again)")
            #expect(read(mnt + "/new.txt") == "new\n")
            _ = run(["/bin/umount", mnt], timeout: 20)
        }
    }
}
