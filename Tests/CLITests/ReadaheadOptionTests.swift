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
}
