@testable import FuseAdapter
@testable import ShiftCLI
import Testing

/// How requests are served: uring=, uring_threads=, prefetch=.
@Suite struct ServingOptionTests {
    static func config(_ opts: String) throws -> FuseMountConfig {
        try plan(["-o", "lowerdir=/a" + opts, "/m"]).fuseConfig
    }

    @Test func autoByDefaultWithTwoThreadsPerCPU() throws {
        let d = try Self.config("")
        #expect(d.uring == .auto)
        #expect(d.uringThreads == 2)
        #expect(try Self.config(",uring=on").uring == .on)
        #expect(try Self.config(",uring=off").uring == .off)
        #expect(try Self.config(",uring=auto").uring == .auto)
        #expect(try Self.config(",uring_threads=4").uringThreads == 4)
    }

    @Test func badValuesAreErrors() {
        #expect(throws: CLIError.self) { try Self.config(",uring") }
        #expect(throws: CLIError.self) { try Self.config(",uring=yes") }
        #expect(throws: CLIError.self) { try Self.config(",uring_threads=0") }
        #expect(throws: CLIError.self) { try Self.config(",uring_threads=17") }
        #expect(throws: CLIError.self) { try Self.config(",uring_threads=two") }
    }

    @Test func prefetchTwoThreadsByDefaultZeroTurnsItOff() throws {
        #expect(try Self.config("").prefetchThreads == 2)
        #expect(try Self.config(",prefetch=0").prefetchThreads == 0)
        #expect(try Self.config(",prefetch=5").prefetchThreads == 5)
        #expect(throws: CLIError.self) { try Self.config(",prefetch") }
        #expect(throws: CLIError.self) { try Self.config(",prefetch=17") }
        #expect(throws: CLIError.self) { try Self.config(",prefetch=-1") }
        #expect(throws: CLIError.self) { try Self.config(",prefetch=on") }
    }

    @Test func notPassedToLibfuse() throws {
        let p = try plan(["-o", "lowerdir=/a,uring=on,uring_threads=3,prefetch=1", "/m"])
        #expect(!p.fuseOptions.contains { $0.hasPrefix("uring") || $0.hasPrefix("prefetch") })
    }
}
