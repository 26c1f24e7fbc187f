import OverlayEngine
@testable import ShiftCLI
import Testing

@Suite struct RedirectDirOptionTests {
    static func redirect(_ opts: String) throws -> RedirectDir {
        try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w" + opts, "/m"]).redirectDir
    }

    @Test func valuesAsTheKernelTakesThem() throws {
        #expect(try Self.redirect("") == .follow, "default: off, which follows as the kernel does")
        #expect(try Self.redirect(",redirect_dir=on") == .on)
        #expect(try Self.redirect(",redirect_dir=off") == .follow)
        #expect(try Self.redirect(",redirect_dir=follow") == .follow)
        #expect(try Self.redirect(",redirect_dir=nofollow") == .nofollow)
        #expect(try Self.redirect(",redirect_dir=on,redirect_dir=off") == .follow, "the last one wins")
        #expect(try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,redirect_dir=on", "/m"]).warnings.isEmpty)
        #expect(throws: CLIError.self) { try Self.redirect(",redirect_dir=yes") }
        #expect(throws: CLIError.self) { try Self.redirect(",redirect_dir") }
    }

    @Test func metacopyImpliesRedirectDir() throws {
        #expect(try Self.redirect(",metacopy=on") == .on)
        #expect(try Self.redirect(",metacopy=on,redirect_dir=on") == .on)
        #expect(try Self.redirect(",metacopy=off,redirect_dir=off") == .follow)
        // An explicit conflict is refused, as the kernel refuses it.
        #expect(parseError(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,metacopy=on,redirect_dir=off", "/m"])?.contains("conflicts") == true)
        #expect(parseError(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,redirect_dir=nofollow,metacopy=on", "/m"]) != nil)
    }
}
