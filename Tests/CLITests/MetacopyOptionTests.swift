@testable import ShiftCLI
import Testing

@Suite struct MetacopyOptionTests {
    @Test func metacopyOnOffAndDefault() throws {
        #expect(try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,metacopy=on", "/m"]).metacopy)
        #expect(try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,metacopy=on,metacopy=off", "/m"]).metacopy == false)
        let defaults = try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w", "/m"])
        #expect(!defaults.metacopy && defaults.warnings.isEmpty)
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,metacopy=yes", "/m"]) }
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,metacopy", "/m"]) }
    }
}
