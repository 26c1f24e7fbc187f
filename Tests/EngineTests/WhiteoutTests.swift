import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Whiteouts are hard links to one shared device in the work directory (as the kernel makes
/// them), and fall back to a device each when linking is refused.
@Suite struct WhiteoutTests {
    static func fixture() throws -> Fixture {
        try Fixture { b in
            for n in ["a", "b", "c"] { try b.file(b.lowers[0], "d/\(n)", n) }
        }
    }

    static func whiteout(_ f: Fixture, _ path: String) throws -> FileStat {
        let upper = try #require(f.upper)
        return try upper.stat(try #require(RelPath(parsing: path)))
    }

    @Test func whiteoutsShareOneInode() throws {
        let f = try Self.fixture()
        for n in ["a", "b", "c"] { try f.unlink("d/\(n)") }
        #expect(try f.list("d") == [])
        let a = try Self.whiteout(f, "d/a"), b = try Self.whiteout(f, "d/b"), c = try Self.whiteout(f, "d/c")
        #expect(a.isWhiteoutDevice && b.isWhiteoutDevice && c.isWhiteoutDevice)
        #expect(a.ino == b.ino && b.ino == c.ino, "one inode for all whiteouts")
        #expect(a.nlink == 4, "three whiteouts and the shared device in work")
        #expect(try #require(f.upper).workEntries() == [OverlayFS.sharedWhiteoutName])
    }

    @Test func linkLimitOrRefusalMakesANewDevice() throws {
        let f = try Self.fixture()
        try f.unlink("d/a")
        let upper = try #require(f.upper)
        upper.injectFault(.EMLINK, on: .link)
        try f.unlink("d/b")
        upper.injectFault(.EPERM, on: .link)
        try f.unlink("d/c")
        #expect(try f.list("d") == [])
        let a = try Self.whiteout(f, "d/a"), b = try Self.whiteout(f, "d/b"), c = try Self.whiteout(f, "d/c")
        #expect(a.isWhiteoutDevice && b.isWhiteoutDevice && c.isWhiteoutDevice)
        #expect(a.ino != b.ino && b.ino != c.ino, "a full or refused link gives a device of its own")
        #expect(a.nlink == 1, "the full shared device was retired")
    }

    @Test func anyOtherLinkErrorFailsTheRemoval() throws {
        let f = try Self.fixture()
        try f.unlink("d/a")
        try #require(f.upper).injectFault(.EIO, on: .link)
        #expect(f.errno { try f.unlink("d/b") } == .EIO)
        #expect(try f.list("d") == ["b", "c"])
    }
}
