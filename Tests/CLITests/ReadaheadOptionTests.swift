@testable import ShiftCLI
import Testing

@Suite struct ReadaheadOptionTests {
    static func readahead(_ opts: String) throws -> Int {
        try plan(["-o", "lowerdir=/a" + opts, "/m"]).fuseConfig.readaheadKiB
    }

    @Test func kibibytesWithADefaultOf1MiB() throws {
        #expect(try Self.readahead("") == 1024)
        #expect(try Self.readahead(",readahead=0") == 0, "0 leaves the kernel's window")
        #expect(try Self.readahead(",readahead=4096") == 4096)
        #expect(throws: CLIError.self) { try Self.readahead(",readahead=-1") }
        #expect(throws: CLIError.self) { try Self.readahead(",readahead=1M") }
        #expect(throws: CLIError.self) { try Self.readahead(",readahead=65537") }
        #expect(throws: CLIError.self) { try Self.readahead(",readahead") }
    }

    @Test func maxReadIsPassedToLibfuseWithASpliceableDefault() throws {
        let d = try plan(["-o", "lowerdir=/a", "/m"])
        #expect(d.fuseConfig.maxRead == 512 * 1024)
        #expect(d.fuseOptions.filter { $0.hasPrefix("max_read=") } == ["max_read=524288"])
        let p = try plan(["-o", "lowerdir=/a,max_read=65536", "/m"])
        #expect(p.fuseConfig.maxRead == 65536)
        #expect(p.fuseOptions.filter { $0.hasPrefix("max_read=") } == ["max_read=65536"], "given once, as the caller said")
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,max_read=100", "/m"]) }
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,max_read=big", "/m"]) }
    }
}
