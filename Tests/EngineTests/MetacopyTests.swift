import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// metacopy=on: the state transitions lower -> metadata-only upper -> full upper, redirects.
@Suite struct MetacopyTests {
    static var on: EngineOptions {
        var o = EngineOptions()
        o.metacopy = true
        return o
    }
    static let marker = Array("trusted.overlay.metacopy".utf8)
    static let redirect = Array("trusted.overlay.redirect".utf8)
    static let text = String(repeating: "0123456789", count: 1000)

    static func fixture(_ options: EngineOptions = on) throws -> Fixture {
        try Fixture(options: options) { b in
            try b.file(b.lowers[0], "d/f", text, mode: 0o640, uid: 5, gid: 6)
            try b.lowers[0].setXattr(.tree(RelPath("d/f")), Array("user.k".utf8), Array("v".utf8), flags: [])
            try b.dirs(b.lowers[0], "e")
        }
    }

    /// True when the upper file at `path` holds no data, only zeros (the memory layer keeps no
    /// holes; the real sparseness is checked by the integration test).
    static func isHole(_ upper: MemoryLayer, _ path: String) throws -> Bool {
        let file = try upper.open(.tree(RelPath(path)), .readOnly)
        defer { file.close() }
        var buf = [UInt8](repeating: 0, count: Int(try file.stat().size))
        let n = try buf.withUnsafeMutableBytes { b throws(Errno) in try file.read(into: b, at: 0) }
        return n == buf.count && buf.allSatisfy { $0 == 0 }
    }

    @Test func chownCopiesUpMetadataOnly() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        let before = try f.stat("d/f")
        let st = try f.fs.setattr(try f.node("d/f"), AttrChanges(uid: 1000, gid: 1001), handle: nil, caller: .root)
        #expect(st.uid == 1000 && st.gid == 1001 && st.size == 10000 && st.permissions == 0o640)
        #expect(st.ino == before.ino)
        let up = try upper.stat(.tree(RelPath("d/f")))
        #expect(up.size == 10000 && up.uid == 1000)
        #expect(try upper.getXattr(.tree(RelPath("d/f")), Self.marker) == [])
        #expect(try upper.getXattr(.tree(RelPath("d/f")), Array("user.k".utf8)) == Array("v".utf8))
        #expect(try Self.isHole(upper, "d/f"))
        #expect(try f.read("d/f") == Self.text)
        // The marker is the overlay's own: not shown.
        #expect(!(try f.fs.listxattr(try f.node("d/f")).contains(Self.marker)))
        // chmod, utimens, setxattr on it change the upper metadata only.
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(mode: 0o600), handle: nil, caller: .root)
        try f.fs.setxattr(try f.node("d/f"), name: Array("user.n".utf8), value: [1], flags: [], caller: .root)
        #expect(try Self.isHole(upper, "d/f"))
        #expect(try f.stat("d/f").permissions == 0o600)
        #expect(try f.read("d/f") == Self.text)
    }

    @Test func openForWriteCopiesDataAndDropsMarker() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(uid: 1000), handle: nil, caller: .root)
        // A read handle opened before the data copy-up follows the file.
        let reader = try f.fs.open(try f.node("d/f"), flags: .readOnly, caller: .root)
        defer { f.fs.release(reader) }
        try f.write("d/f", "AB", at: 0)
        #expect((try? upper.getXattr(.tree(RelPath("d/f")), Self.marker)) == nil)
        #expect(try !Self.isHole(upper, "d/f"))
        #expect(try f.read("d/f") == "AB" + Self.text.dropFirst(2))
        var buf = [UInt8](repeating: 0, count: 4)
        let n = try buf.withUnsafeMutableBytes { b throws(Errno) in try f.fs.read(reader, into: b, at: 0) }
        #expect(n == 4 && buf == Array("AB23".utf8))
        #expect(try f.stat("d/f").uid == 1000)
        #expect(try f.lowers[0].stat(RelPath("d/f")).size == 10000)
    }

    @Test func truncateOfMetacopyFile() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(uid: 1000), handle: nil, caller: .root)
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(size: 5), handle: nil, caller: .root)
        #expect((try? upper.getXattr(.tree(RelPath("d/f")), Self.marker)) == nil)
        #expect(try f.read("d/f") == "01234")
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(size: 0), handle: nil, caller: .root)
        #expect(try f.read("d/f") == "")
    }

    @Test func renameRecordsRedirectFollowedByLaterMounts() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        let ino = try f.stat("d/f").ino
        try f.rename("d/f", "e/g")
        #expect(try upper.getXattr(.tree(RelPath("e/g")), Self.marker) == [])
        #expect(try upper.getXattr(.tree(RelPath("e/g")), Self.redirect) == Array("/d/f".utf8))
        #expect(try Self.isHole(upper, "e/g"))
        #expect(try f.read("e/g") == Self.text)
        #expect(f.errno { try f.stat("d/f") } == .ENOENT)
        try f.rename("e/g", "e/h")
        #expect(try upper.getXattr(.tree(RelPath("e/h")), Self.redirect) == Array("/d/f".utf8))
        // A new mount of the same layers finds the data through the redirect.
        let again = try OverlayFS(lowers: f.lowers, upper: upper, options: Self.on)
        let e = try again.lookup(parent: 1, name: Name(validated: Array("e".utf8))).node
        let h = try again.lookup(parent: e, name: Name(validated: Array("h".utf8)))
        #expect(h.attr.size == 10000 && h.attr.uid == 5)
        // No origin xattr on a metacopy file: its data names the origin, and the number with it.
        #expect((try? upper.getXattr(.tree(RelPath("e/h")), Array("trusted.overlay.shiftoverlay.origin".utf8))) == nil)
        #expect(h.attr.ino == ino)
        let handle = try again.open(h.node, flags: .readOnly, caller: .root)
        defer { again.release(handle) }
        var buf = [UInt8](repeating: 0, count: 10)
        _ = try buf.withUnsafeMutableBytes { b throws(Errno) in try again.read(handle, into: b, at: 0) }
        #expect(buf == Array("0123456789".utf8))
    }

    @Test func kernelStyleRelativeRedirectAndMissingData() throws {
        let f = try Fixture(options: EngineOptions()) { b in
            try b.file(b.lowers[0], "d/f", "lower data")
            let upper = try #require(b.upper)
            try b.dirs(upper, "d")
            let file = try upper.create(.tree(RelPath("d/f2")), flags: .readWrite, mode: 0o600)
            try file.truncate(10)
            file.close()
            try upper.setXattr(.tree(RelPath("d/f2")), Self.marker, [], flags: [])
            try upper.setXattr(.tree(RelPath("d/f2")), Self.redirect, Array("f".utf8), flags: [])
            try b.whiteout(upper, "d/f")
            try b.file(upper, "d/lost", "")
            try upper.setXattr(.tree(RelPath("d/lost")), Self.marker, [], flags: [])
        }
        #expect(try f.list("d") == ["f2", "lost"])
        #expect(try f.read("d/f2") == "lower data")
        #expect(try f.stat("d/f2").permissions == 0o600)
        #expect(f.errno { try f.stat("d/lost") } == .EIO)
    }

    @Test func hardLinkSharesData() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        let (p, n) = try f.parentAndName("e/link")
        _ = try f.fs.link(try f.node("d/f"), newParent: p, newName: n, caller: .root)
        #expect(try Self.isHole(upper, "e/link"))
        #expect(try upper.getXattr(.tree(RelPath("d/f")), Self.redirect) == Array("/d/f".utf8))
        #expect(try f.read("e/link") == Self.text)
        try f.write("e/link", "XY", at: 0)
        #expect(try f.read("d/f").hasPrefix("XY2345"))
    }

    @Test func failedDataCopyKeepsMarkerAndLowerData() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(uid: 1000), handle: nil, caller: .root)
        upper.injectFault(.ENOSPC, on: .fileWrite)
        #expect(f.errno { try f.write("d/f", "AB", at: 0) } == .ENOSPC)
        upper.clearFaults()
        #expect(try upper.getXattr(.tree(RelPath("d/f")), Self.marker) == [])
        #expect(try f.read("d/f") == Self.text)
        #expect(try f.stat("d/f").uid == 1000)
        try f.write("d/f", "AB", at: 0)
        #expect(try f.read("d/f") == "AB" + Self.text.dropFirst(2))
    }

    @Test func offCopiesEverything() throws {
        var o = EngineOptions()
        o.metacopy = false
        let f = try Self.fixture(o)
        let upper = try #require(f.upper)
        _ = try f.fs.setattr(try f.node("d/f"), AttrChanges(uid: 1000), handle: nil, caller: .root)
        #expect((try? upper.getXattr(.tree(RelPath("d/f")), Self.marker)) == nil)
        #expect(try !Self.isHole(upper, "d/f"))
    }
}
