import LayerAPI
import Testing

@Suite("attributes")
struct AttributeTests {
    @Test(arguments: LayerFactory.all)
    func chmodKeepsTypeAndSpecialBits(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.symlink(at("s"), target: bytes("f"))
            for mode: UInt32 in [0o4755, 0o2755, 0o6711, 0o7777, 0o1644, 0o000] {
                try layer.chmod(at("f"), mode: mode)
                #expect(try layer.stat(at("f")).mode == S_IFREG | mode)
            }
            try layer.chmod(at("d"), mode: 0o3777)
            #expect(try layer.stat(at("d")).mode == S_IFDIR | 0o3777)
            try layer.chmod(at("d"), mode: 0o170755)  // type bits in the argument are ignored
            #expect(try layer.stat(at("d")).mode == S_IFDIR | 0o755)
            #expect(throws: Errno.EOPNOTSUPP) { try layer.chmod(at("s"), mode: 0o700) }
            #expect(try layer.stat(at("s")).mode == S_IFLNK | 0o777)
            #expect(throws: Errno.ENOENT) { try layer.chmod(at("missing"), mode: 0o700) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func chmodChangesCtimeOnly(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.setTimes(at("f"), access: .set(longAgo), modification: .set(longAgo))
            let c0 = try layer.stat(at("f")).ctime
            try await tick()
            try layer.chmod(at("f"), mode: 0o600)
            let st = try layer.stat(at("f"))
            #expect(st.ctime > c0)
            #expect(st.mtime == longAgo && st.atime == longAgo)
        }
    }

    @Test(arguments: LayerFactory.all)
    func chown(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.chown(at("f"), uid: 1234, gid: 5678)
            var st = try layer.stat(at("f"))
            #expect(st.uid == 1234 && st.gid == 5678)
            try layer.chown(at("f"), uid: nil, gid: 42)
            st = try layer.stat(at("f"))
            #expect(st.uid == 1234 && st.gid == 42)
            try layer.chown(at("f"), uid: 7, gid: nil)
            st = try layer.stat(at("f"))
            #expect(st.uid == 7 && st.gid == 42)
            // lchown: the symlink itself.
            try layer.symlink(at("s"), target: bytes("f"))
            try layer.chown(at("s"), uid: 99, gid: 98)
            #expect(try layer.stat(at("s")).uid == 99)
            #expect(try layer.stat(at("s")).gid == 98)
            #expect(try layer.stat(at("f")).uid == 7)
            #expect(throws: Errno.ENOENT) { try layer.chown(at("missing"), uid: 1, gid: 1) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func chownClearsSetuidLikeLinux(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("both"))
            try layer.chmod(at("both"), mode: 0o6755)
            // With no id given nothing happens (the layer makes no call at all).
            try layer.chown(at("both"), uid: nil, gid: nil)
            #expect(try layer.stat(at("both")).mode == S_IFREG | 0o6755)
            #expect(throws: Errno.ENOENT) { try layer.chown(at("missing"), uid: nil, gid: nil) }
            // A real chown clears setuid, and setgid when group-executable, even for root.
            try layer.chown(at("both"), uid: 0, gid: nil)
            #expect(try layer.stat(at("both")).mode == S_IFREG | 0o755)
            // setgid without group-execute (mandatory-locking style) survives.
            try makeFile(layer, at("sgid"))
            try layer.chmod(at("sgid"), mode: 0o6745)
            try layer.chown(at("sgid"), uid: 5, gid: 5)
            #expect(try layer.stat(at("sgid")).mode == S_IFREG | 0o2745)
            // Directories keep their bits.
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.chmod(at("d"), mode: 0o6755)
            try layer.chown(at("d"), uid: 5, gid: 5)
            #expect(try layer.stat(at("d")).mode == S_IFDIR | 0o6755)
            // chmod after chown restores them (the copy-up order).
            try layer.chmod(at("both"), mode: 0o6755)
            #expect(try layer.stat(at("both")).mode == S_IFREG | 0o6755)
        }
    }

    @Test(arguments: LayerFactory.all)
    func setTimesWithNanosecondsAndOmit(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            let a = Timespec(seconds: 1_234_567_890, nanoseconds: 123_456_789)
            let m = Timespec(seconds: 1_600_000_000, nanoseconds: 999_999_999)
            try layer.setTimes(at("f"), access: .set(a), modification: .set(m))
            var st = try layer.stat(at("f"))
            #expect(st.atime == a)
            #expect(st.mtime == m)
            let c0 = st.ctime
            #expect(c0 > m)

            let m2 = Timespec(seconds: 42, nanoseconds: 1)
            try await tick()
            try layer.setTimes(at("f"), access: .omit, modification: .set(m2))
            st = try layer.stat(at("f"))
            #expect(st.atime == a)
            #expect(st.mtime == m2)
            #expect(st.ctime > c0)
            let c1 = st.ctime

            try layer.setTimes(at("f"), access: .set(m2), modification: .omit)
            st = try layer.stat(at("f"))
            #expect(st.atime == m2)
            #expect(st.mtime == m2)
            let c2 = st.ctime
            #expect(c2 >= c1)

            try await tick()
            try layer.setTimes(at("f"), access: .omit, modification: .omit)
            #expect(try layer.stat(at("f")).ctime == c2)

            try layer.setTimes(at("f"), access: .now, modification: .now)
            st = try layer.stat(at("f"))
            #expect(st.mtime > c2)
            #expect(st.atime == st.mtime)
        }
    }

    @Test(arguments: LayerFactory.all)
    func setTimesActsOnTheSymlinkItself(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.symlink(at("s"), target: bytes("f"))
            try layer.setTimes(at("s"), access: .set(longAgo), modification: .set(longAgo))
            #expect(try layer.stat(at("s")).mtime == longAgo)
            #expect(try layer.stat(at("f")).mtime != longAgo)
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.setTimes(at("d"), access: .set(longAgo), modification: .set(longAgo))
            #expect(try layer.stat(at("d")).atime == longAgo)
            #expect(throws: Errno.ENOENT) { try layer.setTimes(at("x"), access: .now, modification: .now) }
        }
    }
}
