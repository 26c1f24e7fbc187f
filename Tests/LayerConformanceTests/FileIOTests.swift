import LayerAPI
import Testing

@Suite("file I/O")
struct FileIOTests {
    @Test(arguments: LayerFactory.all)
    func createWriteReadBack(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let f = try layer.create(at("f"), flags: .readWrite, mode: 0o644)
            defer { f.close() }
            #expect(try write(f, bytes("hello world"), at: 0) == 11)
            #expect(try read(f, count: 100, at: 0) == bytes("hello world"))
            #expect(try read(f, count: 5, at: 6) == bytes("world"))
            #expect(try read(f, count: 10, at: 11) == [])
            #expect(try read(f, count: 10, at: 1000) == [])
            // Writing past the end leaves a zero-filled gap.
            #expect(try write(f, bytes("XYZ"), at: 20) == 3)
            let st = try f.stat()
            #expect(st.size == 23)
            #expect(try layer.stat(at("f")).size == 23)
            #expect(try layer.stat(at("f")).ino == st.ino)
            #expect(try read(f, count: 100, at: 0) == bytes("hello world") + [UInt8](repeating: 0, count: 9) + bytes("XYZ"))
            // Overwrite in the middle.
            try write(f, bytes("W"), at: 6)
            #expect(try contents(layer, at("f")) == bytes("hello World") + [UInt8](repeating: 0, count: 9) + bytes("XYZ"))
            #expect(try f.nextData(from: 0) == 0)
            #expect(try f.nextHole(from: 0) <= 23)
        }
    }

    @Test(arguments: LayerFactory.all)
    func writeUpdatesMtimeAndCtime(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abc")
            try layer.setTimes(at("f"), access: .set(longAgo), modification: .set(longAgo))
            let f = try layer.open(at("f"), .writeOnly)
            defer { f.close() }
            try write(f, bytes("x"), at: 0)
            let st = try layer.stat(at("f"))
            #expect(st.mtime > longAgo)
            #expect(st.mtime == st.ctime)
            #expect(st.atime == longAgo)
            #expect(try contents(layer, at("f")) == bytes("xbc"))
        }
    }

    @Test(arguments: LayerFactory.all)
    func appendIgnoresOffset(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abc")
            let f = try layer.open(at("f"), [.writeOnly, .append])
            defer { f.close() }
            #expect(try write(f, bytes("XY"), at: 0) == 2)
            #expect(try write(f, bytes("Z"), at: 1) == 1)
            #expect(try contents(layer, at("f")) == bytes("abcXYZ"))
        }
    }

    @Test(arguments: LayerFactory.all)
    func openTruncate(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abcdef")
            let f = try layer.open(at("f"), [.readWrite, .truncate])
            defer { f.close() }
            #expect(try f.stat().size == 0)
            #expect(try layer.stat(at("f")).size == 0)
        }
    }

    @Test(arguments: LayerFactory.all)
    func openUnlinkRead(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "still here")
            let f = try layer.open(at("f"), .readWrite)
            defer { f.close() }
            let ino = try f.stat().ino
            try layer.unlink(at("f"))
            #expect(throws: Errno.ENOENT) { try layer.stat(at("f")) }
            #expect(try names(layer, at("")) == [])
            #expect(try read(f, count: 100, at: 0) == bytes("still here"))
            let st = try f.stat()
            #expect(st.nlink == 0)
            #expect(st.ino == ino)
            #expect(try write(f, bytes("!"), at: 10) == 1)
            #expect(try read(f, count: 100, at: 0) == bytes("still here!"))
            // A new file of that name is a different object.
            try makeFile(layer, at("f"), "new")
            #expect(try contents(layer, at("f")) == bytes("new"))
            #expect(try read(f, count: 100, at: 0) == bytes("still here!"))
        }
    }

    @Test(arguments: LayerFactory.all)
    func openRefusals(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abc")
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.symlink(at("s"), target: bytes("f"))
            #expect(throws: Errno.EISDIR) { _ = try layer.open(at("d"), .writeOnly) }
            #expect(throws: Errno.EISDIR) { _ = try layer.open(at("d"), .readWrite) }
            #expect(throws: Errno.EISDIR) { _ = try layer.open(at("d"), .readOnly) }
            try layer.mknod(at("p"), mode: S_IFIFO | 0o644, rdev: 0)
            #expect(throws: Errno.ENXIO) { _ = try layer.open(at("p"), .readOnly) }
            #expect(throws: Errno.ELOOP) { _ = try layer.open(at("s"), .readOnly) }
            #expect(throws: Errno.ENOENT) { _ = try layer.open(at("missing"), .readOnly) }
            #expect(throws: Errno.EEXIST) { _ = try layer.create(at("f"), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.EEXIST) { _ = try layer.create(at("s"), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.EEXIST) { _ = try layer.create(at("d"), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.ENOENT) { _ = try layer.create(at("missing/f"), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.ENOTDIR) { _ = try layer.create(at("f/x"), flags: .readWrite, mode: 0o644) }

            let ro = try layer.open(at("f"), .readOnly)
            #expect(throws: Errno.EBADF) { try write(ro, bytes("x"), at: 0) }
            ro.close()
            let wo = try layer.open(at("f"), .writeOnly)
            #expect(throws: Errno.EBADF) { _ = try read(wo, count: 1, at: 0) }
            wo.close()
            wo.close()  // idempotent
            #expect(throws: Errno.EBADF) { _ = try wo.stat() }
            #expect(throws: Errno.EBADF) { try write(wo, bytes("x"), at: 0) }
            #expect(try contents(layer, at("f")) == bytes("abc"))
        }
    }

    @Test(arguments: LayerFactory.all)
    func truncateShrinkThenExtendReadsZeros(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abcdef")
            try layer.truncate(at("f"), size: 3)
            #expect(try layer.stat(at("f")).size == 3)
            #expect(try contents(layer, at("f")) == bytes("abc"))
            try layer.truncate(at("f"), size: 8)
            #expect(try layer.stat(at("f")).size == 8)
            #expect(try contents(layer, at("f")) == bytes("abc") + [0, 0, 0, 0, 0])

            let f = try layer.open(at("f"), .readWrite)
            defer { f.close() }
            try f.truncate(1)
            #expect(try read(f, count: 10, at: 0) == bytes("a"))
            try f.truncate(4)
            #expect(try read(f, count: 10, at: 0) == bytes("a") + [0, 0, 0])
            #expect(try f.stat().size == 4)
        }
    }

    @Test(arguments: LayerFactory.all)
    func truncateUpdatesTimesAndRefuses(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "abcdef")
            try layer.setTimes(at("f"), access: .set(longAgo), modification: .set(longAgo))
            try layer.truncate(at("f"), size: 2)
            let st = try layer.stat(at("f"))
            #expect(st.mtime > longAgo)
            #expect(st.mtime == st.ctime)
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.mknod(at("p"), mode: S_IFIFO | 0o644, rdev: 0)
            #expect(throws: Errno.EISDIR) { try layer.truncate(at("d"), size: 0) }
            // The layer opens the object to truncate it: a fifo without a reader is ENXIO.
            #expect(throws: Errno.ENXIO) { try layer.truncate(at("p"), size: 0) }
            #expect(throws: Errno.EINVAL) { try layer.truncate(at("f"), size: -1) }
            #expect(throws: Errno.ENOENT) { try layer.truncate(at("missing"), size: 0) }
            let ro = try layer.open(at("f"), .readOnly)
            defer { ro.close() }
            #expect(throws: Errno.EINVAL) { try ro.truncate(0) }
            #expect(try layer.stat(at("f")).size == 2)
        }
    }

    @Test(arguments: LayerFactory.all)
    func allocateExtends(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let f = try layer.create(at("f"), flags: .readWrite, mode: 0o644)
            defer { f.close() }
            try write(f, bytes("ab"), at: 0)
            try f.allocate(mode: 0, offset: 0, length: 10)
            #expect(try f.stat().size == 10)
            #expect(try read(f, count: 20, at: 0) == bytes("ab") + [UInt8](repeating: 0, count: 8))
            try f.allocate(mode: 1, offset: 0, length: 100)  // FALLOC_FL_KEEP_SIZE
            #expect(try f.stat().size == 10)
            #expect(throws: Errno.EINVAL) { try f.allocate(mode: 0, offset: 0, length: 0) }
        }
    }
}
