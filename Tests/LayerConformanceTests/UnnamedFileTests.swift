import LayerAPI
import Testing

/// Unnamed files (O_TMPFILE on the POSIX layer), in which copy-ups are built: nothing is visible
/// until the link, which brings data and every attribute at once and never replaces a name.
@Suite("unnamed files")
struct UnnamedFileTests {
    @Test(arguments: LayerFactory.all)
    func builtWithoutANameThenLinkedWhole(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("d"), mode: 0o755)
            let f = try #require(try layer.createUnnamed(mode: 0o600))
            let written = try bytes("data").withUnsafeBytes { (b) throws(Errno) -> Int in try f.write(b, at: 0) }
            #expect(written == 4)
            try f.chown(uid: 1234, gid: 4321)
            try f.chmod(mode: 0o4750)  // after the chown, which clears setuid
            try f.setXattr(bytes("user.k"), bytes("v"), flags: [])
            let mtime = Timespec(seconds: 1_000_000, nanoseconds: 5)
            try f.setTimes(access: .set(mtime), modification: .set(mtime))
            #expect(try names(layer, at("d")) == [])
            try layer.link(f, to: at("d/f"))
            f.close()
            let st = try layer.stat(at("d/f"))
            #expect(st.type == .regular && st.size == 4 && st.nlink == 1)
            #expect(st.uid == 1234 && st.gid == 4321 && st.permissions == 0o4750 && st.mtime == mtime)
            #expect(try contents(layer, at("d/f")) == bytes("data"))
            #expect(try layer.getXattr(at("d/f"), bytes("user.k")) == bytes("v"))

            let g = try #require(try layer.createUnnamed(mode: 0o600))
            #expect(throws: Errno.EEXIST) { try layer.link(g, to: at("d/f")) }
            g.close()
            #expect(try contents(layer, at("d/f")) == bytes("data"))
            #expect(try names(layer, at("d")) == ["f"])

            // Closed without a link: nothing is left anywhere.
            let h = try #require(try layer.createUnnamed(mode: 0o600))
            _ = try bytes("gone").withUnsafeBytes { (b) throws(Errno) -> Int in try h.write(b, at: 0) }
            h.close()
            #expect(try names(layer, at("d")) == ["f"])
        }
    }
}
