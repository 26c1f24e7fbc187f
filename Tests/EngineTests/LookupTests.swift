import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

@Suite struct LookupTests {
    @Test func upperHidesLowerAndDirectoriesMerge() throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[1], "etc/a", "bottom-a")
            try b.file(b.lowers[1], "etc/b", "bottom-b")
            try b.file(b.lowers[0], "etc/b", "top-b")
            try b.file(b.lowers[0], "etc/c", "top-c")
            try b.file(try #require(b.upper), "etc/c", "upper-c")
        }
        #expect(try f.list("etc") == ["a", "b", "c"])
        #expect(try f.read("etc/a") == "bottom-a")
        #expect(try f.read("etc/b") == "top-b")
        #expect(try f.read("etc/c") == "upper-c")
    }

    @Test func nonDirectoryHidesDirectoryBelow() throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[1], "x/inside", "1")
            try b.file(b.lowers[0], "x", "i am a file")
        }
        #expect(try f.stat("x").type == .regular)
        #expect(f.errno { try f.node("x/inside") } == .ENOTDIR)
        #expect(try f.list("") == ["x"])
    }

    @Test func directoryAboveFileDoesNotMergeWithIt() throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[1], "x", "file below")
            try b.file(b.lowers[0], "x/inside", "1")
        }
        #expect(try f.stat("x").type == .directory)
        #expect(try f.list("x") == ["inside"])
    }

    @Test func kernelAndImageWhiteoutsHide() throws {
        let f = try Fixture(lowers: 3) { b in
            try b.file(b.lowers[2], "d/k", "k")
            try b.file(b.lowers[2], "d/i", "i")
            try b.file(b.lowers[2], "d/keep", "keep")
            try b.whiteout(b.lowers[1], "d/k")
            try b.file(b.lowers[0], "d/.wh.i", "")
        }
        #expect(try f.list("d") == ["keep"])
        #expect(f.errno { try f.node("d/k") } == .ENOENT)
        #expect(f.errno { try f.node("d/i") } == .ENOENT)
        #expect(f.errno { try f.node("d/.wh.i") } == .ENOENT)
    }

    @Test(arguments: ["trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque", "file"])
    func opaqueDirectoriesStopTheMerge(marker: String) throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[1], "d/old", "old")
            try b.file(b.lowers[0], "d/new", "new")
            if marker == "file" {
                try b.file(b.lowers[0], "d/.wh..wh..opq", "")
            } else {
                try b.opaque(b.lowers[0], "d", xattr: marker)
            }
        }
        #expect(try f.list("d") == ["new"])
        #expect(f.errno { try f.node("d/old") } == .ENOENT)
        // The marker xattr itself is private.
        #expect(try f.fs.listxattr(try f.node("d")).allSatisfy { !String(decoding: $0, as: UTF8.self).contains("opaque") })
    }

    @Test func readOnlyMountRefusesChanges() throws {
        let f = try Fixture(lowers: 1, upper: false) { b in try b.file(b.lowers[0], "a", "x") }
        #expect(f.errno { try f.create("b") } == .EROFS)
        #expect(f.errno { try f.write("a", "y") } == .EROFS)
        #expect(f.errno { try f.unlink("a") } == .EROFS)
        #expect(try f.read("a") == "x")
    }

    @Test func readdirHasDotEntriesAndResumesAtOffsets() throws {
        let f = try Fixture(lowers: 2) { b in
            for i in 0..<50 { try b.file(b.lowers[i % 2], "big/f\(i)", "\(i)") }
        }
        let h = try f.node("big")
        let all = try f.fs.readdir(node: h, from: 0)
        #expect(all.count == 52)
        #expect(all.prefix(2).map { $0.name } == [[0x2E], [0x2E, 0x2E]])
        // Resume after the 10th entry: exactly the rest, no duplicates.
        let tenth = all[all.startIndex + 9]
        let rest = try f.fs.readdir(node: h, from: tenth.nextOffset)
        #expect(Array(rest) == Array(all.dropFirst(10)))
        #expect(Set(all.map { $0.name }).count == 52)
    }

    @Test func inodeNumbersAreStableAndMatchReaddir() throws {
        let f = try Fixture(lowers: 2) { b in
            try b.file(b.lowers[0], "d/a", "a")
            try b.file(b.lowers[1], "d/b", "b")
        }
        let before = try f.stat("d/a").ino
        let h = try f.node("d")
        let listed = try f.fs.readdir(node: h, from: 0)
        let inoA = listed.first { $0.name == Array("a".utf8) }?.ino
        let inoB = listed.first { $0.name == Array("b".utf8) }?.ino
        #expect(inoA == before)
        #expect(inoB == (try f.stat("d/b").ino))
        #expect(inoA != inoB)
        try f.write("d/a", "changed")  // copy-up
        #expect(try f.stat("d/a").ino == before)
        let h2 = try f.node("d")
        let again = try f.fs.readdir(node: h2, from: 0)
        #expect(again.first { $0.name == Array("a".utf8) }?.ino == before)
    }
}
