import LayerAPI
import Testing

@Suite("xattrs")
struct XattrTests {
    @Test(arguments: LayerFactory.all)
    func setGetListRemove(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.mkdir(at("d"), mode: 0o755)
            let binary: [UInt8] = [0, 1, 2, 0xFF, 0]
            try layer.setXattr(at("f"), bytes("user.a"), bytes("1"), flags: [])
            try layer.setXattr(at("f"), bytes("trusted.overlay.opaque"), bytes("y"), flags: [])
            try layer.setXattr(at("f"), bytes("user.bin"), binary, flags: [])
            try layer.setXattr(at("f"), bytes("user.empty"), [], flags: [])
            try layer.setXattr(at("d"), bytes("user.overlay.opaque"), bytes("y"), flags: [])
            #expect(try layer.getXattr(at("f"), bytes("user.a")) == bytes("1"))
            #expect(try layer.getXattr(RelPath([name("f")]), bytes("trusted.overlay.opaque")) == bytes("y"))
            #expect(try layer.getXattr(at("f"), bytes("user.bin")) == binary)
            #expect(try layer.getXattr(at("f"), bytes("user.empty")) == [])
            #expect(try layer.getXattr(at("d"), bytes("user.overlay.opaque")) == bytes("y"))
            let list = try layer.listXattr(at("f")).map { String(decoding: $0, as: UTF8.self) }.sorted()
            #expect(list == ["trusted.overlay.opaque", "user.a", "user.bin", "user.empty"])
            #expect(try layer.listXattr(RelPath([name("d")])).count == 1)
            #expect(throws: Errno.ENODATA) { _ = try layer.getXattr(at("f"), bytes("user.missing")) }

            try layer.setXattr(at("f"), bytes("user.a"), bytes("2"), flags: [])
            #expect(try layer.getXattr(at("f"), bytes("user.a")) == bytes("2"))
            #expect(throws: Errno.EEXIST) { try layer.setXattr(at("f"), bytes("user.a"), bytes("3"), flags: .create) }
            #expect(throws: Errno.ENODATA) { try layer.setXattr(at("f"), bytes("user.n"), bytes("3"), flags: .replace) }
            try layer.setXattr(at("f"), bytes("user.a"), bytes("4"), flags: .replace)
            try layer.setXattr(at("f"), bytes("user.n"), bytes("5"), flags: .create)
            #expect(try layer.getXattr(at("f"), bytes("user.a")) == bytes("4"))
            #expect(try layer.getXattr(at("f"), bytes("user.n")) == bytes("5"))

            try layer.removeXattr(at("f"), bytes("user.a"))
            #expect(throws: Errno.ENODATA) { _ = try layer.getXattr(at("f"), bytes("user.a")) }
            #expect(throws: Errno.ENODATA) { try layer.removeXattr(at("f"), bytes("user.a")) }
            #expect(try layer.listXattr(at("f")).count == 4)
            #expect(throws: Errno.ENOENT) { _ = try layer.getXattr(at("nope"), bytes("user.a")) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func namespaceRules(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.symlink(at("s"), target: bytes("f"))
            try layer.mknod(at("p"), mode: S_IFIFO | 0o644, rdev: 0)
            // user.* only on regular files and directories.
            #expect(throws: Errno.EPERM) { try layer.setXattr(at("s"), bytes("user.a"), bytes("1"), flags: []) }
            #expect(throws: Errno.EPERM) { try layer.setXattr(at("p"), bytes("user.a"), bytes("1"), flags: []) }
            #expect(throws: Errno.ENODATA) { _ = try layer.getXattr(at("s"), bytes("user.a")) }
            #expect(throws: Errno.EPERM) { try layer.removeXattr(at("s"), bytes("user.a")) }
            // trusted.* works on a symlink itself (lsetxattr) and does not reach its target.
            try layer.setXattr(at("s"), bytes("trusted.t"), bytes("1"), flags: [])
            #expect(try layer.getXattr(at("s"), bytes("trusted.t")) == bytes("1"))
            #expect(try layer.listXattr(at("f")).isEmpty)
            #expect(throws: Errno.EOPNOTSUPP) { try layer.setXattr(at("f"), bytes("foo.a"), bytes("1"), flags: []) }
            #expect(throws: Errno.EOPNOTSUPP) { _ = try layer.getXattr(at("f"), bytes("foo.a")) }
            #expect(throws: Errno.EINVAL) { try layer.setXattr(at("f"), bytes("user."), bytes("1"), flags: []) }
            #expect(throws: Errno.EINVAL) { try layer.setXattr(at("f"), bytes("security.capability"), bytes("xx"), flags: []) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func xattrChangesCtime(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.setTimes(at("f"), access: .set(longAgo), modification: .set(longAgo))
            let c0 = try layer.stat(at("f")).ctime
            try await tick()
            try layer.setXattr(at("f"), bytes("user.a"), bytes("1"), flags: [])
            let c1 = try layer.stat(at("f")).ctime
            #expect(c1 > c0)
            try await tick()
            try layer.removeXattr(at("f"), bytes("user.a"))
            let st = try layer.stat(at("f"))
            #expect(st.ctime > c1)
            #expect(st.mtime == longAgo)
        }
    }

    /// A revision-2 file capability granting nothing (the kernel checks the header only).
    static let capability: [UInt8] = [0, 0, 0, 2, 0x20, 0, 0, 0] + [UInt8](repeating: 0, count: 12)

    @Test(arguments: LayerFactory.all)
    func writeTruncateAndChownDropFileCapabilities(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let cap = bytes("security.capability")
            for step in ["write", "truncate", "chown", "chmod", "setTimes"] {
                try makeFile(layer, at(step), "abc")
                try layer.setXattr(at(step), cap, XattrTests.capability, flags: [])
                #expect(try layer.getXattr(at(step), cap) == XattrTests.capability)
                switch step {
                case "write":
                    let f = try layer.open(at(step), .writeOnly)
                    try write(f, bytes("x"), at: 0)
                    f.close()
                case "truncate": try layer.truncate(at(step), size: 3)
                case "chown": try layer.chown(at(step), uid: 0, gid: 0)
                case "chmod": try layer.chmod(at(step), mode: 0o755)
                default: try layer.setTimes(at(step), access: .now, modification: .now)
                }
                let kept = try layer.listXattr(at(step)).contains(cap)
                #expect(kept == (step == "chmod" || step == "setTimes"), "\(step)")
            }
        }
    }
}
