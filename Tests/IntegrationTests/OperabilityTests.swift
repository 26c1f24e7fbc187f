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
    }
}
