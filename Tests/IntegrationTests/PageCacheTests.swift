// The kernel's page cache of files is kept across opens (FOPEN_KEEP_CACHE) where no change can
// bypass it: a second read of a file costs no READ request, and every way its data changes
// through the mount still shows at once, also through the other names of a hard-linked file.

import Foundation
import Testing

extension Integration {
    @Suite struct PageCache {
        /// READ requests the daemon has traced so far (the `debug` option's trace).
        static func reads(_ m: ShiftMount) -> Int {
            m.log.components(separatedBy: "opcode: READ (").count - 1
        }

        @Test func secondReadOfAFileNeedsNoRequest() throws {
            let s = try Scratch("pagecache")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/f", String(repeating: "lower data\n", count: 3000))
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work, extra: ["debug"]) { m in
                let f = m.mountpoint + "/f"
                #expect(read(f)?.count == 33000)
                let first = Self.reads(m)
                #expect(first > 0)
                #expect(read(f)?.count == 33000)
                #expect(Self.reads(m) == first, "the second read came from the page cache")
                // Changes through the mount show: copy-up and write, truncate, append.
                let r = sh(
                    """
                    printf 'new' | dd of=f bs=1 seek=5 conv=notrunc status=none
                    head -c 10 f; echo
                    truncate -s 4 f; cat f; echo
                    printf 'tail' >> f; cat f; echo
                    """, cwd: m.mountpoint)
                #expect(r.stdout == "lowernewta\nlowe\nlowetail\n", "\(r)")
            }
        }

        /// Each name of a hard-linked file is its own node with its own page cache: a write
        /// through one name must show through the other, also after the file is back to one name.
        @Test func hardLinkedNamesNeverShowOldData() throws {
            let s = try Scratch("pagecache-links")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                let r = sh(
                    """
                    printf 'one' > a
                    cat a; echo
                    ln a b
                    cat a; echo
                    printf 'two' | dd of=b conv=notrunc status=none
                    cat a; echo
                    cat a >/dev/null
                    printf 'six' | dd of=b conv=notrunc status=none
                    rm b
                    cat a; echo
                    """, cwd: m.mountpoint)
                #expect(r.stdout == "one\none\ntwo\nsix\n", "\(r)")
            }
        }
    }
}

extension Integration.PageCache {
    /// The read-ahead window of the mount's backing device info (root may set it).
    static func readaheadKiB(_ mountpoint: String) -> String? {
        let r = run(["mountpoint", "-d", mountpoint])
        guard r.ok else { return nil }
        let dev = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (try? String(contentsOfFile: "/sys/class/bdi/\(dev)/read_ahead_kb", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// libfuse 3.14 refuses INIT (EPROTO: the daemon exits) unless init() repeats the
    /// max_read= mount option; reads then come in requests of at most that size.
    @Test func maxReadOptionMountsAndReads() throws {
        let s = try Scratch("max-read")
        defer { s.remove() }
        let lower = try s.dir("lower")
        let data = String(repeating: "0123456789abcdef", count: 65536)  // 1 MiB
        try write(lower + "/f", data)
        try withShiftoverlay(s, lowers: [lower], extra: ["max_read=65536"]) { m in
            #expect(read(m.mountpoint + "/f") == data, "\(m.log)")
        }
    }

    @Test func readaheadWindowIsSetOnTheMount() throws {
        let s = try Scratch("readahead")
        defer { s.remove() }
        let lower = try s.dir("lower")
        try write(lower + "/f", "x")
        try withShiftoverlay(s, lowers: [lower]) { m in
            #expect(Self.readaheadKiB(m.mountpoint) == "1024", "\(m.log)")
        }
        try withShiftoverlay(s, lowers: [lower], extra: ["readahead=256"]) { m in
            #expect(Self.readaheadKiB(m.mountpoint) == "256", "\(m.log)")
        }
        try withShiftoverlay(s, lowers: [lower], extra: ["readahead=0"]) { m in
            #expect(Self.readaheadKiB(m.mountpoint) == "128", "the kernel's default for FUSE")
        }
    }
}
