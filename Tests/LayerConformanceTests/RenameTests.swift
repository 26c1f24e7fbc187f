import LayerAPI
import Testing

@Suite("rename")
struct RenameTests {
    @Test(arguments: LayerFactory.all)
    func fileOverFileReplaces(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("a"), "A")
            try makeFile(layer, at("b"), "B")
            let a = try layer.stat(at("a"))
            let bFile = try layer.open(at("b"), .readOnly)
            defer { bFile.close() }
            try await tick()
            try layer.rename(from: at("a"), to: at("b"), flags: [])
            #expect(throws: Errno.ENOENT) { try layer.stat(at("a")) }
            let b = try layer.stat(at("b"))
            #expect(b.ino == a.ino)
            #expect(b.ctime > a.ctime)
            #expect(try contents(layer, at("b")) == bytes("A"))
            #expect(try names(layer, at("")) == ["b"])
            #expect(try bFile.stat().nlink == 0)  // the replaced file lives on while open
            #expect(try read(bFile, count: 4, at: 0) == bytes("B"))
        }
    }

    @Test(arguments: LayerFactory.all)
    func directoryRules(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.mkdir(at("d/e"), mode: 0o755)
            try makeFile(layer, at("d/e/x"))
            try layer.mkdir(at("empty"), mode: 0o755)
            try layer.mkdir(at("full"), mode: 0o755)
            try makeFile(layer, at("full/y"))
            try makeFile(layer, at("f"))
            #expect(throws: Errno.EISDIR) { try layer.rename(from: at("f"), to: at("empty"), flags: []) }
            #expect(throws: Errno.ENOTDIR) { try layer.rename(from: at("empty"), to: at("f"), flags: []) }
            #expect(throws: Errno.ENOTEMPTY) { try layer.rename(from: at("d"), to: at("full"), flags: []) }
            #expect(throws: Errno.EINVAL) { try layer.rename(from: at("d"), to: at("d/e/y"), flags: []) }
            #expect(throws: Errno.EINVAL) { try layer.rename(from: at("d"), to: at("d/z"), flags: []) }
            #expect(throws: Errno.ENOTEMPTY) { try layer.rename(from: at("d/e"), to: at("d"), flags: []) }
            #expect(throws: Errno.ENOENT) { try layer.rename(from: at("missing"), to: at("x"), flags: []) }
            #expect(throws: Errno.ENOENT) { try layer.rename(from: at("f"), to: at("missing/x"), flags: []) }
            #expect(throws: Errno.ENOTDIR) { try layer.rename(from: at("f"), to: at("f/x"), flags: []) }
            #expect(try layer.stat(at("")).nlink == 5)
            // A directory replaces an empty directory.
            let dIno = try layer.stat(at("d")).ino
            try layer.rename(from: at("d"), to: at("empty"), flags: [])
            #expect(try layer.stat(at("empty")).ino == dIno)
            #expect(try layer.stat(at("empty/e/x")).type == .regular)
            #expect(try layer.stat(at("")).nlink == 4)
            #expect(try names(layer, at("")) == ["empty", "f", "full"])
            // Renaming a directory onto itself does nothing.
            try layer.rename(from: at("full"), to: at("full"), flags: [])
            #expect(try names(layer, at("full")) == ["y"])
        }
    }

    @Test(arguments: LayerFactory.all)
    func movingADirectoryMovesItsLinkCount(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("a"), mode: 0o755)
            try layer.mkdir(at("b"), mode: 0o755)
            try layer.mkdir(at("a/sub"), mode: 0o755)
            try layer.mkdir(at("a/sub/deeper"), mode: 0o755)
            #expect(try layer.stat(at("a")).nlink == 3)
            try layer.rename(from: at("a/sub"), to: at("b/sub"), flags: [])
            #expect(try layer.stat(at("a")).nlink == 2)
            #expect(try layer.stat(at("b")).nlink == 3)
            #expect(try layer.stat(at("b/sub")).nlink == 3)
            #expect(try layer.stat(at("b/sub/deeper")).type == .directory)
        }
    }

    @Test(arguments: LayerFactory.all)
    func noReplace(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("a"), "A")
            try makeFile(layer, at("b"), "B")
            #expect(throws: Errno.EEXIST) { try layer.rename(from: at("a"), to: at("b"), flags: .noReplace) }
            #expect(try contents(layer, at("b")) == bytes("B"))
            try layer.rename(from: at("a"), to: at("c"), flags: .noReplace)
            #expect(try names(layer, at("")) == ["b", "c"])
            try layer.link(from: at("b"), to: at("b2"))
            #expect(throws: Errno.EEXIST) { try layer.rename(from: at("b"), to: at("b2"), flags: .noReplace) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func exchange(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("p"), mode: 0o755)
            try layer.mkdir(at("q"), mode: 0o755)
            try makeFile(layer, at("p/file"), "F")
            try layer.mkdir(at("q/dir"), mode: 0o755)
            try makeFile(layer, at("q/dir/inside"))
            let file = try layer.stat(at("p/file")).ino
            let dir = try layer.stat(at("q/dir")).ino
            try layer.rename(from: at("p/file"), to: at("q/dir"), flags: .exchange)
            #expect(try layer.stat(at("p/file")).ino == dir)
            #expect(try layer.stat(at("q/dir")).ino == file)
            #expect(try layer.stat(at("p/file/inside")).type == .regular)
            #expect(try contents(layer, at("q/dir")) == bytes("F"))
            #expect(try layer.stat(at("p")).nlink == 3)
            #expect(try layer.stat(at("q")).nlink == 2)
            #expect(throws: Errno.ENOENT) { try layer.rename(from: at("p/file"), to: at("q/none"), flags: .exchange) }
            #expect(throws: Errno.EINVAL) {
                try layer.rename(from: at("p/file"), to: at("q/dir"), flags: [.exchange, .noReplace])
            }
            #expect(throws: Errno.EINVAL) {
                try layer.rename(from: at("p"), to: at("p/file/inside"), flags: .exchange)
            }
        }
    }

    @Test(arguments: LayerFactory.all)
    func twoLinksOfOneInodeStayPut(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("a"), "A")
            try layer.link(from: at("a"), to: at("b"))
            try layer.rename(from: at("a"), to: at("b"), flags: [])
            #expect(try names(layer, at("")) == ["a", "b"])
            #expect(try layer.stat(at("a")).nlink == 2)
        }
    }

    @Test(arguments: LayerFactory.all)
    func workToTree(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let f = try layer.create(work("tmp"), flags: .readWrite, mode: 0o640)
            try write(f, bytes("copied up"), at: 0)
            f.close()
            try layer.chown(work("tmp"), uid: 1000, gid: 1000)
            try layer.setXattr(work("tmp"), bytes("user.k"), bytes("v"), flags: [])
            let ino = try layer.stat(work("tmp")).ino
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.rename(from: work("tmp"), to: at("d/f"), flags: [])
            #expect(throws: Errno.ENOENT) { try layer.stat(work("tmp")) }
            let st = try layer.stat(at("d/f"))
            #expect(st.ino == ino)
            #expect(st.uid == 1000 && st.gid == 1000)
            #expect(st.mode == S_IFREG | 0o640)
            #expect(try layer.getXattr(at("d/f"), bytes("user.k")) == bytes("v"))
            #expect(try contents(layer, at("d/f")) == bytes("copied up"))

            try layer.mkdir(work("dir"), mode: 0o700)
            try layer.rename(from: work("dir"), to: at("newdir"), flags: .noReplace)
            #expect(try layer.stat(at("")).nlink == 4)
            #expect(try layer.stat(at("newdir")).mode == S_IFDIR | 0o700)
            // And back: tree to work.
            try layer.rename(from: at("d/f"), to: work("back"), flags: [])
            #expect(try layer.stat(work("back")).ino == ino)
            #expect(try names(layer, at("d")) == [])
        }
    }

    @Test(arguments: LayerFactory.all)
    func whiteoutLeavesACharDevice(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("a"), "A")
            let ino = try layer.stat(at("a")).ino
            try layer.rename(from: at("a"), to: work("gone"), flags: .whiteout)
            let wh = try layer.stat(at("a"))
            #expect(wh.isWhiteoutDevice)
            #expect(wh.mode == S_IFCHR)
            #expect(wh.ino != ino)
            #expect(try layer.stat(work("gone")).ino == ino)
        }
    }
}
