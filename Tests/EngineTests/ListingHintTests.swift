import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// readdirplus looks up each listed name with what the listing saw (`lookup(parent:listed:)`):
/// the answer must be the one a plain lookup gives, the layers above the name's must not be
/// probed, and a name change after the listing must not be answered from it.
@Suite struct ListingHintTests {
    static func fixture() throws -> Fixture {
        try Fixture(lowers: 2) { b in
            let upper = try #require(b.upper)
            try b.file(b.lowers[1], "d/bottom", "b")
            try b.file(b.lowers[1], "d/both", "bottom version")
            try b.file(b.lowers[0], "d/both", "top")
            try b.file(b.lowers[0], "d/top", "t")
            try b.dirs(b.lowers[1], "d/sub/deeper")
            try b.dirs(b.lowers[0], "d/sub")
            try b.file(upper, "d/up", "u")
            try b.dirs(upper, "d")
        }
    }

    static func listed(_ f: Fixture, _ dir: NodeID) throws -> [ListedEntry] {
        try f.fs.readdir(node: dir, from: 0).filter { $0.name != [0x2E] && $0.name != [0x2E, 0x2E] }
    }

    @Test func sameAnswerAsAPlainLookup() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        let entries = try Self.listed(f, d)
        #expect(entries.map { String(decoding: $0.name, as: UTF8.self) }.sorted() == ["both", "bottom", "sub", "top", "up"])
        for e in entries {
            let hinted = try f.fs.lookup(parent: d, listed: e)
            let plain = try f.fs.lookup(parent: d, name: try #require(Name(e.name)))
            #expect(hinted.node == plain.node)
            #expect(hinted.attr == plain.attr, "\(String(decoding: e.name, as: UTF8.self))")
        }
        let sub = try f.node("d/sub")
        #expect(try f.list("d/sub") == ["deeper"], "a merged directory still merges")
        #expect(try f.fs.getattr(sub).type == .directory)
    }

    @Test func layersAboveTheNameAreNotProbed() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        let bottom = try #require(try Self.listed(f, d).first { $0.name == Array("bottom".utf8) })
        #expect(bottom.firstLayer == 2, "upper, top lower, then the bottom")
        let upper = try #require(f.upper)
        let (u0, t0) = (upper.callCount, f.lowers[0].callCount)
        _ = try f.fs.lookup(parent: d, listed: bottom)
        #expect(upper.callCount == u0 && f.lowers[0].callCount == t0)
        _ = try f.fs.lookup(parent: d, name: try #require(Name(bottom.name)))
        #expect(upper.callCount > u0 && f.lowers[0].callCount > t0, "a plain lookup probes them")
    }

    @Test func aNameChangedSinceTheListingIsLookedUpAgain() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        let bottom = try #require(try Self.listed(f, d).first { $0.name == Array("bottom".utf8) })
        try f.write("d/bottom", "changed through the mount")  // copies it up
        let after = try f.fs.lookup(parent: d, listed: bottom)
        #expect(after.attr.size == Int64("changed through the mount".utf8.count))
        #expect(try f.stat("d/bottom").size == after.attr.size)
    }
}
