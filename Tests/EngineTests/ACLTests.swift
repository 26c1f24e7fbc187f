import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// The caller's umask: the kernel leaves it to the filesystem once POSIX ACLs are negotiated, so
/// the engine applies it where the parent has no default ACL (the memory layer has no ACLs; the
/// default-ACL case is tested on a real mount, IntegrationTests Access).
@Suite struct ACLTests {

    @Test func withoutDefaultACLTheUmaskApplies() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "d") }
        let strict = Caller(uid: 0, gid: 0, umask: 0o027)
        try f.create("d/file", mode: 0o666, caller: strict)
        try f.mkdir("d/sub", mode: 0o777, caller: strict)
        #expect(try f.stat("d/file").permissions == 0o640)
        #expect(try f.stat("d/sub").permissions == 0o750)
    }
}
