// FUSE over io_uring (Linux 6.14+): with uring=on the daemon turns on the fuse module's
// enable_uring parameter (restored by the test) and serves requests from per-CPU rings. What
// must hold: requests really go over the rings, and everything the /dev/fuse path does still
// comes out the same (the read-write workload against kernel overlayfs, large reads and writes
// that fill the ring buffers, a compiler run); uring=off never uses them.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let uringParameter = "/sys/module/fuse/parameters/enable_uring"

/// The request count after "io_uring ... threads, " in the status line (-1: not over io_uring).
private func uringRequests(_ m: ShiftMount) -> Int {
    let line = statusLine(m)
    guard line.contains("io_uring "), let r = line.range(of: " threads, ") else { return -1 }
    return Int(line[r.upperBound...].prefix { $0.isNumber }) ?? -1
}

/// Runs `body` and puts the module parameter back as it was.
private func restoringUringParameter<T>(_ body: () throws -> T) throws -> T {
    let saved = read(uringParameter)
    defer {
        if let saved, let fd = FileHandle(forWritingAtPath: uringParameter) {
            fd.write(Data(saved.utf8))
            try? fd.close()
        }
    }
    return try body()
}

extension Integration {
    @Suite struct Uring {
        static var kernelHasIt: Bool { access(uringParameter, F_OK) == 0 }

        @Test(.enabled(if: Uring.kernelHasIt, "this kernel has no FUSE over io_uring"))
        func readWriteWorkloadOverTheRingsMatchesKernelOverlayfs() throws {
            let (s, top, bottom, upper, work) = try RWLayers.stack("uring-rw")
            defer { s.remove() }
            // Larger than one ring payload (1 MiB). passthrough=off sends the writes (and the reads
            // of upper files) over the rings too.
            #expect(run(["dd", "if=/dev/urandom", "of=\(bottom)/big.bin", "bs=1M", "count=3", "status=none"]).ok)
            let first = try restoringUringParameter {
                try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, extra: ["uring=on", "passthrough=off"]) { m in
                    RWLayers.applyChanges(mnt: m.mountpoint, scratch: s.root)
                    let r = sh(
                        """
                        cmp big.bin \(bottom)/big.bin
                        dd if=/dev/urandom of=\(s.root)/w.bin bs=1M count=3 status=none
                        dd if=\(s.root)/w.bin of=written.bin bs=3M status=none
                        cmp written.bin \(s.root)/w.bin
                        printf '#include <stdio.h>\\nint main(void){puts("ran");return 0;}\\n' > p.c
                        gcc -o p p.c && ./p
                        """, cwd: m.mountpoint)
                    #expect(r.ok && r.stdout == "ran\n", "\(r)")
                    #expect(uringRequests(m) > 100, "requests not served over io_uring: \(statusLine(m))\n\(m.log)")
                    return try TreeView(m.mountpoint)
                }
            }
            RWLayers.checkUpper(upper: upper, bottom: bottom)
            let kernel = try withKernelOverlay(s, lowers: [top, bottom], upper: upper) { try TreeView($0) }
            let same = kernel == first
            #expect(same, "kernel overlayfs sees a different tree (left shiftoverlay over io_uring):\n\(first.diff(kernel))")
        }

        /// SIGTERM while a process keeps its working directory in the mount: the unmount is lazy
        /// and the ring threads keep serving that process, so the daemon must not tear its
        /// session down under them; it waits a while, then exits cleanly, and the mount goes.
        @Test(.enabled(if: Uring.kernelHasIt, "this kernel has no FUSE over io_uring"))
        func sigtermWithABusyMountExitsCleanly() throws {
            let s = try Scratch("uring-busy")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/f", "x\n")
            let mnt = try s.dir("mnt")
            try restoringUringParameter {
                let m = try ShiftMount(
                    args: ["-o", overlayOptions(lowers: [lower], upper: upper, work: work, extra: ["uring=on"])],
                    mountpoint: mnt, logPath: s.root + "/busy.log")
                defer { m.stop() }
                #expect(read(mnt + "/f") == "x\n")
                let holder = try Child(["/usr/bin/env", "-C", mnt, "sleep", "60"], stdout: "/dev/null", stderr: "/dev/null")
                defer { holder.terminate(grace: 1) }
                usleep(200_000)
                #expect(statusLine(m).contains("io_uring"), "\(m.log)")
                kill(m.pid, SIGTERM)
                #expect(m.child.wait(seconds: 30), "the daemon did not exit")
                #expect(m.child.exitStatus == 0, "\(m.log)")
                #expect(m.log.contains("still serving after the unmount"), "\(m.log)")
                holder.terminate(grace: 1)
                #expect(!isMounted(mnt))
            }
        }

        @Test(.enabled(if: Uring.kernelHasIt, "this kernel has no FUSE over io_uring"))
        func uringOffServesOverDevFuse() throws {
            let s = try Scratch("uring-off")
            defer { s.remove() }
            let lower = try s.dir("lower")
            try write(lower + "/f", "x\n")
            try restoringUringParameter {
                try withShiftoverlay(s, lowers: [lower], extra: ["uring=off"]) { m in
                    #expect(read(m.mountpoint + "/f") == "x\n")
                    let line = statusLine(m)
                    #expect(line.contains("/dev/fuse only") && !line.contains("io_uring"), "\(line)")
                }
            }
        }
    }
}
