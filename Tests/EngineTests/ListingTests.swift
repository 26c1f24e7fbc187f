import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Listings without an open handle (the adapter's no-opendir mode): a reader that continues from
/// an offset sees the listing it started with, whatever happens to the directory meanwhile.
@Suite struct ListingTests {
    private func names(_ entries: some Sequence<ListedEntry>) -> [String] {
        entries.map { String(decoding: $0.name, as: UTF8.self) }.filter { $0 != "." && $0 != ".." }
    }

    private func fixture(files: Int, options: EngineOptions = EngineOptions()) throws -> Fixture {
        try Fixture(lowers: 2, options: options) { b in
            for i in 0..<files { try b.file(b.lowers[i % 2], "d/f\(i)", "\(i)") }
            try b.dirs(b.lowers[0], "e")
            for i in 0..<files { try b.file(b.lowers[0], "e/g\(i)", "\(i)") }
        }
    }

    @Test func continuationIgnoresChangesMadeAfterTheFirstRead() throws {
        let f = try fixture(files: 40)
        let d = try f.node("d")
        let first = try f.fs.readdir(node: d, from: 0)
        #expect(names(first).count == 40)
        let cut = first[first.startIndex + 11]
        let expectedRest = names(first.dropFirst(12))
        // Names are removed, added and replaced after the reader got its first chunk.
        let removed = try #require(expectedRest.first)
        try f.unlink("d/" + removed)
        try f.create("d/new", "n")
        try f.rename("d/" + (expectedRest.last ?? ""), "d/renamed")
        let rest = try f.fs.readdir(node: d, from: cut.nextOffset)
        #expect(names(rest) == expectedRest)
        // A new reader starts from the directory as it is now.
        let now = names(try f.fs.readdir(node: d, from: 0))
        #expect(now.contains("new") && now.contains("renamed") && !now.contains(removed))
        #expect(Set(now).count == now.count && now.count == 40)
    }

    @Test func interleavedReadersOfOneDirectoryEachSeeTheirOwnListing() throws {
        let f = try fixture(files: 20)
        let d = try f.node("d")
        let a = try f.fs.readdir(node: d, from: 0)
        try f.create("d/late", "x")
        let b = try f.fs.readdir(node: d, from: 0)
        let aRest = try f.fs.readdir(node: d, from: a[a.startIndex + 4].nextOffset)
        let bRest = try f.fs.readdir(node: d, from: b[b.startIndex + 4].nextOffset)
        #expect(names(aRest) == names(a.dropFirst(5)))
        #expect(names(bRest) == names(b.dropFirst(5)))
        #expect(!names(a).contains("late"))
        #expect(names(b).contains("late"))
    }

    @Test func aDroppedSnapshotIsListedAgainFromTheSamePosition() throws {
        // A budget smaller than one listing (27 entries): listing e drops d's snapshot.
        var o = EngineOptions()
        o.listingBudget = 20
        let f = try fixture(files: 25, options: o)
        let d = try f.node("d")
        let e = try f.node("e")
        let first = try f.fs.readdir(node: d, from: 0)
        _ = try f.fs.readdir(node: e, from: 0)
        let rest = try f.fs.readdir(node: d, from: first[first.startIndex + 9].nextOffset)
        #expect(names(rest) == names(first.dropFirst(10)))
        // The newest snapshot stays even when it alone exceeds the budget.
        let eFirst = try f.fs.readdir(node: e, from: 0)
        try f.create("e/late", "x")
        let eRest = try f.fs.readdir(node: e, from: eFirst[eFirst.startIndex + 9].nextOffset)
        #expect(names(eRest) == names(eFirst.dropFirst(10)))
    }

    @Test func offsetsAreOpaqueButOrdered() throws {
        let f = try fixture(files: 10)
        let d = try f.node("d")
        let all = Array(try f.fs.readdir(node: d, from: 0))
        #expect(all.count == 12)
        #expect(all.allSatisfy { $0.nextOffset > 0 })
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.nextOffset < $1.nextOffset })
        // The last offset ends the listing; another directory's offset is not followed into it
        // (e is listed afresh from that position: its own names only).
        #expect(try f.fs.readdir(node: d, from: all[all.count - 1].nextOffset).isEmpty)
        let fromOther = names(try f.fs.readdir(node: try f.node("e"), from: all[3].nextOffset))
        #expect(fromOther.count == 8 && fromOther.allSatisfy { $0.hasPrefix("g") })
        #expect(f.errno { try f.fs.readdir(node: try f.node("d/f0"), from: 0) } == .ENOTDIR)
        #expect(f.errno { try f.fs.readdir(node: d, from: -1) } == .EINVAL)
    }
}
