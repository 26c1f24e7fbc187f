// Several processes doing random operations in one tree at once, through a real mount: the
// daemon stays alive and answering, and afterwards the tree it shows is the tree kernel
// overlayfs shows on the same upper (nothing half-done was left in the layers).

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Stress {
        static let workers = 4
        static let seconds = 8

        /// One worker: random creates, writes, reads, renames, links, removes, mkdir/rmdir and
        /// chmods over 40 shared names, many of them lower files (so copy-ups race too).
        static func worker(_ id: Int) -> String {
            """
            RANDOM=\(id * 7919)
            end=$((SECONDS + \(seconds)))
            n=0
            while [ $SECONDS -lt $end ]; do
              a=$((RANDOM % 40)); b=$((RANDOM % 40))
              case $((RANDOM % 12)) in
                0) echo "w\(id) $n" > f$a ;;
                1) echo "a\(id) $n" >> f$a 2>/dev/null ;;
                2) cat f$a > /dev/null 2>&1 ;;
                3) mv -f f$a f$b 2>/dev/null ;;
                4) rm -f f$a ;;
                5) ln f$a h$a 2>/dev/null ;;
                6) rm -f h$a ;;
                7) mkdir -p d$a/s 2>/dev/null && echo x > d$a/s/x 2>/dev/null ;;
                8) rm -rf d$a 2>/dev/null ;;
                9) chmod 0$((RANDOM % 8))$((RANDOM % 8))4 f$a 2>/dev/null ;;
                10) touch -d @$((RANDOM * 1000)) f$a 2>/dev/null ;;
                11) ls -la > /dev/null 2>&1 ;;
              esac
              n=$((n + 1))
            done
            echo $n
            """
        }

        @Test func parallelRandomOperationsLeaveAConsistentTree() throws {
            let s = try Scratch("stress")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            sh(
                """
                for i in $(seq 0 39); do echo "lower $i" > f$i; mkdir -p d$i/s; echo x > d$i/s/x; done
                """, cwd: lower)
            var ops = 0
            let shown = try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m -> TreeView in
                var children: [Child] = []
                for id in 0..<Self.workers {
                    let out = s.root + "/worker\(id).out"
                    children.append(try Child(["/bin/bash", "-c", "cd \(m.mountpoint) && " + Self.worker(id)], stdout: out, stderr: out))
                }
                for c in children { #expect(c.wait(seconds: Double(Self.seconds) + 60), "a worker hung") }
                for id in 0..<Self.workers {
                    let out = (try? String(contentsOfFile: s.root + "/worker\(id).out", encoding: .utf8)) ?? ""
                    ops += Int(out.split(separator: "\n").last.map(String.init) ?? "") ?? 0
                }
                #expect(m.child.isRunning, "the daemon died: \(m.log)")
                #expect(run(["find", ".", "-ls"], cwd: m.mountpoint).ok)
                return try TreeView(m.mountpoint)
            }
            print("stress: \(Self.workers) workers, \(ops) operations in \(Self.seconds) s")
            #expect(ops > 1000, "the workers did almost nothing")
            let kernel = try withKernelOverlay(s, lowers: [lower], upper: upper) { try TreeView($0) }
            #expect(kernel == shown, "kernel overlayfs sees another tree:\n\(kernel.diff(shown))")
            let again = try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { try TreeView($0.mountpoint) }
            #expect(again == shown, "a remount shows another tree:\n\(again.diff(shown))")
        }
    }
}
