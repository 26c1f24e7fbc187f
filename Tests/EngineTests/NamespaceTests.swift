import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

@Suite struct NamespaceTests {
    @Test func unlinkOfLowerFileLeavesKernelWhiteout() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/gone", "x")
            try b.file(b.lowers[0], "d/stay", "y")
        }
        try f.unlink("d/gone")
        #expect(try f.list("d") == ["stay"])
        let wh = try #require(try f.upper?.stat(.tree(RelPath("d/gone"))))
        #expect(wh.isWhiteoutDevice)
        #expect(try f.lowers[0].stat(RelPath("d/gone")).size == 1)
    }

    @Test func unlinkOfUpperOnlyFileLeavesNothing() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "d") }
        try f.create("d/new", "data")
        try f.unlink("d/new")
        #expect(f.errno { _ = try f.upper?.stat(.tree(RelPath("d/new"))) } == .ENOENT)
        #expect(try f.list("d") == [])
    }

    @Test func createOverWhiteoutShowsNewFileOnly() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", "lower") }
        try f.unlink("f")
        try f.create("f", "upper")
        #expect(try f.read("f") == "upper")
        #expect(try f.list("") == ["f"])
        #expect(try f.upper?.stat(.tree(RelPath("f"))).type == .regular)
    }

    @Test func rmdirCountsOnlyVisibleEntriesAndRecreatedDirIsOpaque() throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[1], "d/a", "a")
            try b.file(b.lowers[0], "d/b", "b")
        }
        #expect(f.errno { try f.rmdir("d") } == .ENOTEMPTY)
        try f.unlink("d/a")
        #expect(f.errno { try f.rmdir("d") } == .ENOTEMPTY)
        try f.unlink("d/b")
        try f.rmdir("d")
        #expect(f.errno { try f.node("d") } == .ENOENT)
        #expect(try f.upper?.stat(.tree(RelPath("d"))).isWhiteoutDevice == true)
        try f.mkdir("d")
        #expect(try f.list("d") == [])
        let upper = try #require(f.upper)
        #expect(try upper.readDirectory(.tree(RelPath("d"))).isEmpty)  // no stray whiteouts
        #expect(try upper.getXattr(.tree(RelPath("d")), Array("trusted.overlay.opaque".utf8)) == Array("y".utf8))
        try f.create("d/c", "c")
        #expect(try f.list("d") == ["c"])
    }

    @Test func mkdirWhereNothingLowerIsNotOpaque() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "x") }
        try f.mkdir("x/new")
        let upper = try #require(f.upper)
        #expect(f.errno { _ = try upper.getXattr(.tree(RelPath("x/new")), Array("trusted.overlay.opaque".utf8)) } == .ENODATA)
    }

    @Test func createOwnerComesFromCallerAndSetgidParent() throws {
        let f = try Fixture { b in
            try b.dirs(b.lowers[0], "plain")
            try b.dirs(b.lowers[0], "sg", mode: 0o2775)
            try b.lowers[0].chown(.tree(RelPath("sg")), uid: 0, gid: 555)
            try b.lowers[0].chmod(.tree(RelPath("sg")), mode: 0o2775)
        }
        try f.create("plain/f", caller: Fixture.user)
        #expect(try f.stat("plain/f").uid == 1000)
        #expect(try f.stat("plain/f").gid == 1000)
        try f.create("sg/f", caller: Fixture.user)
        #expect(try f.stat("sg/f").gid == 555)
        try f.mkdir("sg/sub", caller: Fixture.user)
        #expect(try f.stat("sg/sub").gid == 555)
        #expect(try f.stat("sg/sub").mode & ModeBits.setGID != 0)
    }

    @Test func renameOfLowerFileMovesItAndWhitesOutTheOldName() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "a/f", "content")
            try b.dirs(b.lowers[0], "b")
        }
        let ino = try f.stat("a/f").ino
        try f.rename("a/f", "b/g")
        #expect(try f.list("a") == [])
        #expect(try f.read("b/g") == "content")
        #expect(try f.stat("b/g").ino == ino)
        #expect(try f.upper?.stat(.tree(RelPath("a/f"))).isWhiteoutDevice == true)
    }

    @Test func renameFlagsAndErrors() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "x", "X")
            try b.file(b.lowers[0], "y", "Y")
            try b.file(b.lowers[0], "dir/inner", "i")
            try b.dirs(b.lowers[0], "empty")
        }
        #expect(f.errno { try f.rename("x", "y", flags: .noReplace) } == .EEXIST)
        try f.rename("x", "y", flags: .exchange)
        #expect(try f.read("x") == "Y")
        #expect(try f.read("y") == "X")
        #expect(f.errno { try f.rename("dir", "dir2") } == .EXDEV)
        #expect(f.errno { try f.rename("x", "dir") } == .EISDIR)
        #expect(f.errno { try f.rename("nope", "z") } == .ENOENT)
        try f.rename("x", "y")
        #expect(try f.list("") == ["dir", "empty", "y"])
        #expect(try f.read("y") == "Y")
        // An upper-only directory moves freely, and over a lower one becomes opaque.
        try f.mkdir("mine")
        try f.create("mine/m", "m")
        try f.rename("mine", "empty")
        #expect(try f.list("empty") == ["m"])
        #expect(f.errno { try f.node("mine") } == .ENOENT)
    }

    @Test func linkCountsAndSharesTheInode() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", "data") }
        let n = try f.node("f")
        let root: NodeID = 1
        let e = try f.fs.link(n, newParent: root, newName: Name(validated: Array("g".utf8)), caller: .root)
        #expect(e.attr.nlink == 2)
        #expect(try f.stat("f").nlink == 2)
        #expect(try f.stat("g").ino == (try f.stat("f").ino))
        try f.write("g", "DATA")
        #expect(try f.read("f") == "DATA")
    }

    @Test func openUnlinkedFileKeepsWorking() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", "still here") }
        let n = try f.node("f")
        let h = try f.fs.open(n, flags: .readOnly, caller: .root)
        defer { f.fs.release(h) }
        try f.unlink("f")
        var buf = [UInt8](repeating: 0, count: 32)
        let got = try buf.withUnsafeMutableBytes { (b) throws(Errno) -> Int in try f.fs.read(h, into: b, at: 0) }
        #expect(String(decoding: buf[0..<got], as: UTF8.self) == "still here")
        #expect(try f.fs.getattr(n).size == 10)
    }

    @Test func reservedNamesCannotBeCreated() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "d") }
        #expect(f.errno { try f.create("d/.wh.x") } == .EINVAL)
    }

    @Test func forgetReclaimsNodes() throws {
        let f = try Fixture { b in for i in 0..<100 { try b.file(b.lowers[0], "d/f\(i)", "x") } }
        let start = f.fs.nodeCount
        var ids: [NodeID] = []
        for i in 0..<100 { ids.append(try f.node("d/f\(i)")) }
        #expect(f.fs.nodeCount == start + 101)
        let d = try f.node("d")
        for id in ids { f.fs.forget(id, lookups: 1) }
        f.fs.forget(d, lookups: 101 + 1)
        #expect(f.fs.nodeCount == start)
    }

    /// `kernelHolds`: true only while the kernel holds a node reachable by that name and type.
    @Test func kernelHoldsOnlyLookedUpReachableNames() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/a", "a")
            try b.file(b.lowers[0], "d/b", "b")
            try b.file(b.lowers[0], "d/c", "c")
            try b.dirs(b.lowers[0], "d/s")
        }
        let d = try f.node("d")
        let a = Array("a".utf8), b = Array("b".utf8), c = Array("c".utf8), s = Array("s".utf8)
        #expect(!f.fs.kernelHolds(parent: d, name: a, type: .regular))  // listed, never looked up
        let na = try f.node("d/a")
        _ = try f.node("d/b")
        _ = try f.node("d/c")
        _ = try f.node("d/s")
        #expect(f.fs.kernelHolds(parent: d, name: a, type: .regular))
        #expect(!f.fs.kernelHolds(parent: d, name: a, type: .directory))
        #expect(f.fs.kernelHolds(parent: d, name: s, type: .directory))
        f.fs.forget(na, lookups: 1)
        #expect(!f.fs.kernelHolds(parent: d, name: a, type: .regular))
        try f.unlink("d/b")
        #expect(!f.fs.kernelHolds(parent: d, name: b, type: .regular))
        try f.rename("d/c", "d/m")
        #expect(!f.fs.kernelHolds(parent: d, name: c, type: .regular))
        #expect(f.fs.kernelHolds(parent: d, name: Array("m".utf8), type: .regular))
    }

    /// After a read, write or listing the kernel may hold stale attributes (atime, size): such a
    /// name is not "held" until a lookup or getattr hands the kernel fresh ones.
    @Test func kernelHoldsNotAfterReadsUntilAttributesAreFresh() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/a", "a")
            try b.dirs(b.lowers[0], "d/s")
        }
        let d = try f.node("d")
        let a = Array("a".utf8), s = Array("s".utf8)
        let na = try f.node("d/a")
        let ns = try f.node("d/s")
        #expect(f.fs.kernelHolds(parent: d, name: a, type: .regular))
        #expect(try f.read("d/a") == "a")  // lookup, open, read, release
        #expect(!f.fs.kernelHolds(parent: d, name: a, type: .regular))
        _ = try f.fs.getattr(na)
        #expect(f.fs.kernelHolds(parent: d, name: a, type: .regular))
        try f.write("d/a", "b")
        #expect(!f.fs.kernelHolds(parent: d, name: a, type: .regular))
        #expect(f.fs.kernelHolds(parent: d, name: s, type: .directory))
        _ = try f.fs.readdir(node: ns, from: 0)
        #expect(!f.fs.kernelHolds(parent: d, name: s, type: .directory))
        _ = try f.node("d/s")
        #expect(f.fs.kernelHolds(parent: d, name: s, type: .directory))
    }
}
