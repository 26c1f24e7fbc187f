import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Inode numbers stay the same across mounts of the same layers (unionmount-testsuite --verify:
/// "inode number/layer changed on copy up" after a mount cycle).
@Suite struct InodeNumberTests {
    /// A second mount of the fixture's layers.
    func remount(_ f: Fixture) throws -> Fixture {
        try Fixture(reusing: f)
    }

    @Test func lowerFileNumberDoesNotDependOnLookupOrder() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "low", "l")
            try b.file(try #require(b.upper), "up", "u")
        }
        let first = try f.stat("low").ino
        let g = try remount(f)
        _ = try g.stat("up")  // the upper's device seen first this time
        #expect(try g.stat("low").ino == first)
    }

    @Test func copiedUpFileKeepsItsNumberAcrossMounts() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/file", "0123")
            // Upper objects first, so the copy's real inode number differs from the lower one's.
            for i in 0..<5 { try b.file(try #require(b.upper), "pad\(i)", "") }
        }
        let before = try f.stat("d/file").ino
        try f.write("d/file", "x")
        #expect(try f.stat("d/file").ino == before)
        let g = try remount(f)
        #expect(try g.stat("d/file").ino == before)
        // Renamed after copy-up: still the same object.
        try g.rename("d/file", "d/moved")
        let h = try remount(g)
        #expect(try h.stat("d/moved").ino == before)
    }

    @Test func newFileOverWhitedOutLowerGetsItsOwnNumber() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "file", "0123")
            try b.file(try #require(b.upper), "pad", "")
        }
        let lower = try f.stat("file").ino
        try f.unlink("file")
        try f.create("file", "new")
        let g = try remount(f)
        #expect(try g.stat("file").ino != lower)
    }
}

extension Fixture {
    /// Mounts `other`'s layers again (a mount cycle).
    init(reusing other: Fixture) throws {
        self.lowers = other.lowers
        self.upper = other.upper
        self.fs = try OverlayFS(lowers: other.lowers, upper: other.upper)
    }
}
