// What an operator sees: SIGUSR1 prints a status line with the engine's counters.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Operability {
        @Test func sigusr1WritesAStatusLine() throws {
            let s = try Scratch("status")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/a.txt", "12345")
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                let f = try #require(FileHandle(forUpdatingAtPath: m.mountpoint + "/a.txt"))
                try f.seekToEnd()
                try f.write(contentsOf: Data("6".utf8))
                try f.close()
                #expect(kill(m.pid, SIGUSR1) == 0)
                let deadline = Date().addingTimeInterval(5)
                while !m.log.contains("status: ") && Date() < deadline { usleep(10_000) }
                let line = m.log.split(separator: "\n").first { $0.contains("status: ") }.map(String.init) ?? ""
                #expect(line.contains("copy-ups 1,"), "\(m.log)")
                #expect(line.contains("bytes copied 5,"), "\(m.log)")
                #expect(line.contains("warnings 0"), "\(m.log)")
                #expect(read(m.mountpoint + "/a.txt") == "123456", "still serving after the signal")
            }
        }
    
        @Test func debugTracesEachRequestWithItsErrno() throws {
            let s = try Scratch("debug")
            defer { s.remove() }
            let lower = try s.dir("lower")
            try write(lower + "/a.txt", "a")
            try withShiftoverlay(s, lowers: [lower], extra: ["debug"]) { m in
                #expect(lstatErrno(m.mountpoint + "/missing") == ENOENT)
                #expect(read(m.mountpoint + "/a.txt") == "a")
                #expect(!run(["getfattr", "-n", "user.missing", m.mountpoint + "/a.txt"]).ok)
                let deadline = Date().addingTimeInterval(5)
                while !m.log.contains("error: -61") && Date() < deadline { usleep(10_000) }
                #expect(m.log.contains("opcode: LOOKUP"), "\(m.log.prefix(2000))")
                #expect(m.log.contains("error: -61"), "the ENODATA reply is traced")
            }
        }

        /// ls -l of a fresh directory comes with the attributes in the listing (READDIRPLUS):
        /// no LOOKUP per entry, and the right sizes.
        @Test func listingCarriesAttributes() throws {
            let s = try Scratch("readdirplus")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            _ = try s.dir("lower/d")
            for i in 0..<40 { try write(lower + "/d/f\(i)", String(repeating: "x", count: i)) }
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: ["debug"]) { m in
                let r = run(["stat", "-c", "%s", m.mountpoint + "/d"])
                #expect(r.ok)
                let before = m.log.components(separatedBy: "opcode: LOOKUP").count
                let ls = sh("ls -l d | awk 'NR > 1 {s += $5} END {print NR - 1, s}'", cwd: m.mountpoint)
                #expect(ls.stdout == "40 780\n", "\(ls)")
                #expect(m.log.contains("opcode: READDIRPLUS"))
                #expect(m.log.components(separatedBy: "opcode: LOOKUP").count == before, "no lookup per entry")
            }
        }

        /// Lookups that find nothing are cached as negative entries; every way a name can
        /// appear through the mount must still show it at once.
        @Test func cachedMissingNamesAppearWhenCreated() throws {
            let s = try Scratch("negative")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/gone", "lower")
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                let names = ["f", "d", "l", "h", "r", "p", "gone", "x"]
                let r = sh(
                    """
                    rm gone
                    for n in \(names.joined(separator: " ")); do ! stat $n 2>/dev/null; done
                    touch f; mkdir d; ln -s f l; ln f h; touch src; mv src r; mkfifo p
                    printf 'again' > gone
                    touch x.tmp; mv x.tmp x
                    ls
                    """, cwd: m.mountpoint)
                #expect(r.ok, "\(r)")
                #expect(r.stdout == "d\nf\ngone\nh\nl\np\nr\nx\n", "\(r)")
                for n in names { #expect(lstatErrno(m.mountpoint + "/" + n) == 0, "\(n)") }
                #expect(read(m.mountpoint + "/gone") == "again")
            }
        }

        @Test func writebackCacheKeepsDataRight() throws {
            let s = try Scratch("writeback")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/base.txt", "0123456789")
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: ["writeback=1"]) { m in
                let mnt = m.mountpoint
                sh(
                    """
                    printf 'AB' | dd of=base.txt bs=1 seek=3 conv=notrunc status=none
                    printf 'tail' >> base.txt
                    exec 3>wo.txt; printf 'written' >&3; exec 3>&-
                    dd if=/dev/zero of=big.bin bs=64k count=16 status=none
                    printf 'x' | dd of=big.bin bs=1 seek=100000 conv=notrunc status=none
                    sync
                    """, cwd: mnt)
                #expect(read(mnt + "/base.txt") == "012AB56789tail")
                #expect(read(mnt + "/wo.txt") == "written")
                #expect(run(["cmp", "-s", mnt + "/big.bin", upper + "/big.bin"]).ok)
            }
            #expect(read(upper + "/base.txt") == "012AB56789tail")
            #expect(read(lower + "/base.txt") == "0123456789")
        }
    }
}
