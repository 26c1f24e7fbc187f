import LayerAPI
import MemoryLayer
import OverlayEngine
import Synchronization
import Testing

/// Directory prefetch (`prefetchListing`): a listing built ahead must be served instead of a new
/// one (no layer calls at READDIR time), give exactly what a plain listing and plain lookups give,
/// and never be served once a name changed since it was built.
@Suite struct PrefetchTests {
    static func fixture() throws -> Fixture {
        try Fixture(lowers: 2) { b in
            let upper = try #require(b.upper)
            try b.file(b.lowers[1], "d/bottom", "b")
            try b.file(b.lowers[1], "d/both", "bottom version")
            try b.file(b.lowers[0], "d/both", "top")
            try b.dirs(b.lowers[1], "d/sub/deeper")
            try b.dirs(b.lowers[0], "d/sub")
            try b.whiteout(b.lowers[0], "d/gone")
            try b.file(b.lowers[1], "d/gone", "hidden")
            try b.file(upper, "d/up", "u")
        }
    }

    static func names(_ entries: some Sequence<ListedEntry>) -> [String] {
        entries.map { String(decoding: $0.name, as: UTF8.self) }
    }

    static func calls(_ f: Fixture) -> Int {
        f.lowers.reduce(f.upper?.callCount ?? 0) { $0 + $1.callCount }
    }

    @Test func servedWithoutLayerCallsAndSameAsPlain() throws {
        let plain = try Self.fixture()
        let f = try Self.fixture()
        let (pd, d) = (try plain.node("d"), try f.node("d"))
        f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration)
        let before = Self.calls(f)
        let ahead = Array(try f.fs.readdir(node: d, from: 0))
        #expect(Self.calls(f) == before, "the prefetched listing is served: no layer call")
        let expected = Array(try plain.fs.readdir(node: pd, from: 0))
        #expect(Self.names(ahead).sorted() == [".", "..", "both", "bottom", "sub", "up"])
        // (Each memory layer lists in its own order: compare by name.)
        let shape = { (l: [ListedEntry]) in l.map { "\(String(decoding: $0.name, as: UTF8.self)) \($0.type) \($0.ino)" }.sorted() }
        #expect(shape(ahead) == shape(expected))
        for e in ahead.dropFirst(2) {
            let name = try #require(Name(e.name))
            let hinted = try f.fs.lookup(parent: d, listed: e)
            let reference = try f.fs.lookup(parent: d, name: name)
            #expect(hinted.node == reference.node)
            #expect(hinted.attr == reference.attr, "\(name)")
        }
        #expect(try f.list("d/sub") == ["deeper"], "a merged directory found ahead still merges")
        #expect(try f.read("d/both") == "top")
    }

    @Test func lowerEntriesAreLookedUpAheadUpperOnesAreNot() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration)
        let entries = try f.fs.readdir(node: d, from: 0)
        let bottom = try #require(entries.first { $0.name == Array("bottom".utf8) })
        let up = try #require(entries.first { $0.name == Array("up".utf8) })
        let before = Self.calls(f)
        _ = try f.fs.lookup(parent: d, listed: bottom)
        #expect(Self.calls(f) == before, "a lower-only entry needs no layer call")
        _ = try f.fs.lookup(parent: d, listed: up)
        #expect(Self.calls(f) > before, "an upper entry is stat'ed when served (its attributes can change)")
    }

    @Test func anUpperFileChangedAfterThePrefetchShowsItsNewSize() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration)
        try f.write("d/up", "longer than before")  // no name changes: the generation stays
        let up = try #require(try f.fs.readdir(node: d, from: 0).first { $0.name == Array("up".utf8) })
        #expect(try f.fs.lookup(parent: d, listed: up).attr.size == Int64("longer than before".utf8.count))
    }

    @Test func aNameChangeAfterThePrefetchIsSeen() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration)
        try f.create("d/new", "n")
        try f.unlink("d/bottom")
        try f.write("d/both", "copied up")
        let entries = try f.fs.readdir(node: d, from: 0)
        #expect(Self.names(entries).sorted() == [".", "..", "both", "new", "sub", "up"])
        let both = try #require(entries.first { $0.name == Array("both".utf8) })
        #expect(try f.fs.lookup(parent: d, listed: both).attr.size == Int64("copied up".utf8.count))
    }

    @Test func aStaleRequestDoesNothing() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        let asked = f.fs.namespaceGeneration
        try f.create("elsewhere", "x")
        let before = Self.calls(f)
        f.fs.prefetchListing(of: d, ifStill: asked)
        #expect(Self.calls(f) == before, "names changed since it was asked for: no work")
        _ = try f.fs.readdir(node: d, from: 0)
        #expect(Self.calls(f) > before, "the READDIR lists")
    }

    @Test func servedOnceThenListedAgain() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration)
        _ = try f.fs.readdir(node: d, from: 0)
        let before = Self.calls(f)
        let again = try f.fs.readdir(node: d, from: 0)
        #expect(Self.calls(f) > before)
        #expect(Self.names(again).sorted() == [".", "..", "both", "bottom", "sub", "up"])
    }

    @Test func aRemovedDirectoryIsNotServedAhead() throws {
        let f = try Self.fixture()
        let deeper = try f.node("d/sub/deeper")
        f.fs.prefetchListing(of: deeper, ifStill: f.fs.namespaceGeneration)
        try f.rmdir("d/sub/deeper")
        #expect(f.errno { try f.fs.readdir(node: deeper, from: 0) } != nil)
        #expect(try f.list("d/sub") == [])
    }

    @Test func keepsAtMostAWindowOfListingsTheOldestGoFirst() throws {
        let count = 130
        let f = try Fixture(lowers: 1) { b in
            for i in 0..<count { try b.file(b.lowers[0], "many/d\(i)/f", "x") }
        }
        let dirs = try (0..<count).map { i in try f.node("many/d\(i)") }
        let g = f.fs.namespaceGeneration
        for d in dirs { #expect(f.fs.prefetchListing(of: d, ifStill: g)) }
        #expect(!f.fs.prefetchListing(of: dirs[count - 1], ifStill: g), "kept already")
        let served = { (d: NodeID) throws -> Bool in
            let before = Self.calls(f)
            _ = try f.fs.readdir(node: d, from: 0)
            return Self.calls(f) == before
        }
        #expect(try served(dirs[count - 1]))
        #expect(try served(dirs[2]))
        #expect(try !served(dirs[1]), "beyond the window of 128: dropped")
        #expect(try !served(dirs[0]))
    }

    /// Prefetches racing with changes: a listing read after a change returned must show it.
    @Test func aListingReadAfterAChangeShowsItWhilePrefetchesRun() throws {
        let f = try Self.fixture()
        let d = try f.node("d")
        let stop = Atomic<Bool>(false)
        let prefetchers = (0..<2).map { _ in
            Thread {
                while !stop.load(ordering: .relaxed) { f.fs.prefetchListing(of: d, ifStill: f.fs.namespaceGeneration) }
            }
        }
        for t in prefetchers { t.start() }
        var wrong: [String] = []
        for i in 0..<600 {
            let name = "n\(i % 5)"
            try f.create("d/" + name, "x")
            if !Self.names(try f.fs.readdir(node: d, from: 0)).contains(name) { wrong.append("\(i): \(name) missing") }
            try f.unlink("d/" + name)
            if Self.names(try f.fs.readdir(node: d, from: 0)).contains(name) { wrong.append("\(i): \(name) still listed") }
        }
        stop.store(true, ordering: .relaxed)
        for t in prefetchers { t.join() }
        #expect(wrong.isEmpty, "\(wrong.count) stale listings, first: \(wrong.prefix(3))")
        #expect(try f.list("d").sorted() == ["both", "bottom", "sub", "up"])
    }
}
