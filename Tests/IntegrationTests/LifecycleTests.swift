// Daemon lifecycle: daemonizing, fusermount3 -u ends the daemon, SIGTERM unmounts.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Lifecycle {
        @Test func withoutForegroundTheCommandReturnsOnceMountedAndUnmountEndsTheDaemon() throws {
            let s = try Scratch("daemon")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let mnt = try s.dir("mnt")
            try write(lower + "/hello.txt", "hello\n")
            let r = run([Env.binary, "-o", "lowerdir=" + lower, mnt], timeout: 30)
            // Whatever happens below, leave no mount and no daemon of ours behind.
            defer {
                if isMounted(mnt) { _ = run(["fusermount3", "-u", "-z", mnt], timeout: 10) }
                for pid in pidsWithCmdline(containing: mnt) where processAlive(pid) { kill(pid, SIGTERM) }
            }
            try #require(r.ok, "shiftoverlay without -f: \(r)")
            // Exit 0 means the mount is usable now: no polling.
            #expect(isMounted(mnt))
            #expect(read(mnt + "/hello.txt") == "hello\n")
            let pids = pidsWithCmdline(containing: mnt).filter(processAlive)
            try #require(pids.count == 1, "expected one daemon serving \(mnt), found \(pids)")
            usleep(200_000)
            #expect(read(mnt + "/hello.txt") == "hello\n", "the daemon stopped serving")
            let u = run(["fusermount3", "-u", mnt], timeout: 20)
            #expect(u.ok, "\(u)")
            #expect(!isMounted(mnt))
            let deadline = Date().addingTimeInterval(5)
            while processAlive(pids[0]) && Date() < deadline { usleep(10_000) }
            #expect(!processAlive(pids[0]), "daemon \(pids[0]) still running after fusermount3 -u")
        }

        @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
        func terminationSignalsUnmount(signal: Int32) throws {
            let s = try Scratch("signal")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let mnt = try s.dir("mnt")
            try write(lower + "/hello.txt", "hello\n")
            let m = try ShiftMount(args: ["-o", "lowerdir=" + lower], mountpoint: mnt, logPath: s.root + "/log")
            defer { m.stop() }
            #expect(read(mnt + "/hello.txt") == "hello\n")
            kill(m.pid, signal)
            #expect(m.child.wait(seconds: 5), "daemon did not exit on signal \(signal)")
            #expect(!isMounted(mnt), "signal \(signal) left \(mnt) mounted")
            if !m.child.isRunning {
                #expect(!m.child.killedBySignal, "signal \(signal) was not handled (killed by it)")
                #expect(m.child.exitStatus == 0)
            }
        }

        @Test func unmountEndsForegroundDaemon() throws {
            let s = try Scratch("fg")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/hello.txt", "hello\n")
            let pid = try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                #expect(read(m.mountpoint + "/hello.txt") == "hello\n")
                return m.pid
            }
            // withShiftoverlay ran fusermount3 -u and reaped the daemon (it records an issue otherwise).
            #expect(!processAlive(pid))
        }
    }
}

extension Integration.Lifecycle {
    /// mount(8) / fstab form: mount.fuse3 runs `PROG SOURCE MOUNTPOINT -o rw,...,dev,suid` and waits
    /// for it to exit; `umount MOUNTPOINT` must end the daemon.
    @Test func mountFuseFormAndUmountEndTheDaemon() throws {
        let s = try Scratch("mount8")
        defer { s.remove() }
        let lower = try s.dir("lower")
        let upper = try s.dir("upper")
        let work = try s.dir("work")
        let mnt = try s.dir("mnt")
        try write(lower + "/hello.txt", "hello\n")
        let opts = overlayOptions(lowers: [lower], upper: upper, work: work)
        let r = run(["/bin/mount", "-t", "fuse", "-o", opts, Env.binary + "#overlay", mnt], timeout: 30)
        defer {
            if isMounted(mnt) { _ = run(["/bin/umount", "-l", mnt], timeout: 10) }
            for pid in pidsWithCmdline(containing: mnt) where processAlive(pid) { kill(pid, SIGTERM) }
        }
        try #require(r.ok, "mount -t fuse \(Env.binary)#overlay: \(r)")
        #expect(isMounted(mnt))
        #expect(read(mnt + "/hello.txt") == "hello\n")
        try write(mnt + "/new.txt", "new\n")
        #expect(read(upper + "/new.txt") == "new\n")
        let pids = pidsWithCmdline(containing: mnt).filter(processAlive)
        try #require(pids.count == 1, "expected one daemon serving \(mnt), found \(pids)")
        let u = run(["/bin/umount", mnt], timeout: 20)
        #expect(u.ok, "\(u)")
        let deadline = Date().addingTimeInterval(5)
        while processAlive(pids[0]) && Date() < deadline { usleep(10_000) }
        #expect(!processAlive(pids[0]), "daemon \(pids[0]) still running after umount")
    }
}
