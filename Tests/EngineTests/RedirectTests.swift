import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// redirect_dir=on: directories with lower layers are renamed by recording where their lower
/// directories are (the kernel's `trusted.overlay.redirect`), and lookups follow redirects.
@Suite struct RedirectTests {
    static var on: EngineOptions {
        var o = EngineOptions()
        o.redirectDir = .on
        return o
    }
    static let redirect = Array("trusted.overlay.redirect".utf8)
    static let opaque = Array("trusted.overlay.opaque".utf8)

    /// lower: a/x, a/sub/y, c/, p/q/f; a second lower under it adds a/z.
    static func fixture(_ options: EngineOptions = on) throws -> Fixture {
        try Fixture(lowers: 2, options: options) { b in
            try b.file(b.lowers[0], "a/x", "x")
            try b.file(b.lowers[0], "a/sub/y", "y")
            try b.dirs(b.lowers[0], "c")
            try b.file(b.lowers[0], "p/q/f", "f")
            try b.file(b.lowers[1], "a/z", "z")
        }
    }

    static func redirectOf(_ f: Fixture, _ path: String) -> String? {
        guard let v = try? f.upper?.getXattr(.tree(RelPath(path)), redirect) else { return nil }
        return String(decoding: v, as: UTF8.self)
    }

    static func isWhiteout(_ f: Fixture, _ path: String) -> Bool {
        (try? f.upper?.stat(.tree(RelPath(path))))??.isWhiteoutDevice == true
    }

    @Test func renameInSameDirectoryRecordsTheOldName() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        try f.rename("a", "b")
        #expect(try f.list("") == ["b", "c", "p"])
        #expect(try f.list("b") == ["sub", "x", "z"], "still merged with both lower layers")
        #expect(try f.read("b/x") == "x" && f.read("b/z") == "z" && f.read("b/sub/y") == "y")
        #expect(f.errno { try f.node("a") } == .ENOENT)
        #expect(Self.redirectOf(f, "b") == "a")
        #expect(Self.isWhiteout(f, "a"))
        #expect((try? upper.getXattr(.tree(RelPath("b")), Self.opaque)) == nil, "not opaque")
        // Only the directory itself was copied up.
        #expect(try upper.readDirectory(.tree(RelPath("b"))).isEmpty)
    }

    @Test func renameIntoAnotherDirectoryRecordsTheAbsolutePath() throws {
        let f = try Self.fixture()
        try f.rename("a/sub", "c/moved")
        #expect(Self.redirectOf(f, "c/moved") == "/a/sub")
        #expect(try f.list("c") == ["moved"])
        #expect(try f.read("c/moved/y") == "y")
        #expect(try f.list("a") == ["x", "z"])
        #expect(Self.isWhiteout(f, "a/sub"))
    }

    @Test func renamingAgainUpdatesTheRedirect() throws {
        let f = try Self.fixture()
        try f.rename("a", "b")
        #expect(Self.redirectOf(f, "b") == "a")
        try f.rename("b", "c/b")
        #expect(Self.redirectOf(f, "c/b") == "/a", "relative becomes absolute across directories")
        try f.rename("c/b", "c/d")
        #expect(Self.redirectOf(f, "c/d") == "/a", "an absolute redirect is kept")
        #expect(try f.list("c/d") == ["sub", "x", "z"])
        #expect(try f.read("c/d/sub/y") == "y")
        #expect(!Self.isWhiteout(f, "b") && !Self.isWhiteout(f, "c/b"), "no lower has those names")
        #expect(try f.list("") == ["c", "p"])
    }

    @Test func childrenFollowTheirParentsLowerPath() throws {
        let f = try Self.fixture()
        let upper = try #require(f.upper)
        let q = try f.node("p/q")  // known to the engine before its parent moves
        try f.rename("p", "r")
        let h = q
        let names = try f.fs.readdir(node: h, from: 0).map { String(decoding: $0.name, as: UTF8.self) }
        #expect(names.sorted() == [".", "..", "f"])
        #expect(try f.read("r/q/f") == "f")
        // Copy-up of a file under the moved directory reads it from its lower path.
        try f.write("r/q/f", "F")
        #expect(try f.read("r/q/f") == "F")
        #expect(try upper.stat(.tree(RelPath("r/q/f"))).size == 1)
        #expect(try upper.getXattr(.tree(RelPath("r/q/f")), Array("trusted.overlay.shiftoverlay.origin".utf8)) == Array("p/q/f".utf8))
        // A child directory moved out of a redirected one names its own lower path.
        _ = try f.fs.mkdir(parent: try f.node("c"), name: Name(validated: Array("n".utf8)), mode: 0o755, caller: .root)
        try f.rename("r/q", "c/n/q2")
        #expect(Self.redirectOf(f, "c/n/q2") == "/p/q")
        #expect(try f.read("c/n/q2/f") == "F")
        #expect(try f.list("r").isEmpty)
    }

    @Test func whiteoutsAndOpaqueMarkersKeepTheirMeaningAtTheNewPlace() throws {
        let f = try Self.fixture()
        try f.unlink("a/x")
        _ = try f.fs.mkdir(parent: try f.node("a"), name: Name(validated: Array("sub2".utf8)), mode: 0o755, caller: .root)
        try f.unlink("a/sub/y")
        try f.rmdir("a/sub")
        try f.mkdir("a/sub")  // opaque: the lower a/sub/y stays hidden
        try f.rename("a", "c/a")
        #expect(try f.list("c/a") == ["sub", "sub2", "z"])
        #expect(try f.list("c/a/sub").isEmpty)
        // The name freed at the old place is a plain new directory.
        try f.mkdir("a")
        #expect(try f.list("a").isEmpty)
        #expect(try f.list("") == ["a", "c", "p"])
    }

    @Test func exchangeOfTwoLowerDirectories() throws {
        let f = try Self.fixture()
        try f.rename("a", "p", flags: .exchange)
        #expect(try f.list("p") == ["sub", "x", "z"])
        #expect(try f.list("a") == ["q"])
        #expect(Self.redirectOf(f, "p") == "a" && Self.redirectOf(f, "a") == "p")
        #expect(try f.read("a/q/f") == "f")
    }

    @Test func renameOverAnEmptyLowerDirectoryDoesNotMergeWithIt() throws {
        let f = try Self.fixture()
        try f.rename("a/sub", "c")
        #expect(try f.list("c") == ["y"])
        #expect(Self.redirectOf(f, "c") == "sub" || Self.redirectOf(f, "c") == "/a/sub")
        try f.rename("c", "a/sub")
        #expect(try f.list("a/sub") == ["y"])
        #expect(try f.list("") == ["a", "p"])
    }

    @Test func removingAMovedDirectory() throws {
        let f = try Self.fixture()
        try f.rename("p/q", "c/q")
        try f.unlink("c/q/f")
        try f.rmdir("c/q")
        #expect(try f.list("c").isEmpty)
        #expect(try f.list("p").isEmpty)
        #expect(!Self.isWhiteout(f, "c/q"), "no lower has c/q: no whiteout needed")
    }

    @Test func offAndNofollow() throws {
        var follow = EngineOptions()
        follow.redirectDir = .follow
        let off = try Self.fixture(follow)
        #expect(off.errno { try off.rename("a", "b") } == .EXDEV)
        // An upper written with redirects (as by the kernel) is read as it says with follow,
        // and as plain directories with nofollow.
        var nofollow = EngineOptions()
        nofollow.redirectDir = .nofollow
        for (options, expected) in [(follow, ["sub", "x", "z"]), (nofollow, [])] {
            let f = try Fixture(lowers: 1, options: options) { b in
                try b.file(b.lowers[0], "a/x", "x")
                try b.file(b.lowers[0], "a/sub/y", "y")
                try b.dirs(b.lowers[0], "a/x2")
                guard let up = b.upper else { return }
                try b.dirs(up, "b")
                try up.setXattr(.tree(RelPath("b")), Self.redirect, Array("a".utf8), flags: [])
                try b.whiteout(up, "a")
            }
            #expect(try f.list("") == ["b"])
            #expect(try f.list("b") == (expected.isEmpty ? [] : ["sub", "x", "x2"]))
        }
    }

    @Test func readsRedirectsInTheKernelsForms() throws {
        let f = try Fixture(lowers: 1, options: Self.on) { b in
            try b.file(b.lowers[0], "a/b/c/f", "f")
            try b.file(b.lowers[0], "m/g", "g")
            guard let up = b.upper else { return }
            try b.dirs(up, "new/deeper/moved")
            try up.setXattr(.tree(RelPath("new/deeper/moved")), Self.redirect, Array("/a/b/c".utf8), flags: [])
            try b.dirs(up, "a/b/c2")
            try up.setXattr(.tree(RelPath("a/b/c2")), Self.redirect, Array("c".utf8), flags: [])
            try b.whiteout(up, "a/b/c")
            try b.dirs(up, "m2")
            try up.setXattr(.tree(RelPath("m2")), Array("user.overlay.redirect".utf8), Array("m".utf8), flags: [])
            try b.whiteout(up, "m")
            try b.dirs(up, "bad")
            try up.setXattr(.tree(RelPath("bad")), Self.redirect, Array("x/y".utf8), flags: [])
        }
        #expect(try f.read("new/deeper/moved/f") == "f")
        #expect(try f.read("a/b/c2/f") == "f")
        #expect(try f.list("a/b") == ["c2"])
        #expect(try f.read("m2/g") == "g")
        #expect(try f.list("bad").isEmpty, "an invalid redirect is ignored")
    }

    @Test func tooLongARedirectIsEXDEV() throws {
        let long = (0..<30).map { "component\($0)" }.joined(separator: "/")
        let f = try Fixture(lowers: 1, options: Self.on) { b in
            try b.file(b.lowers[0], long + "/f", "f")
        }
        try f.mkdir("t")
        #expect(f.errno { try f.rename(long, "t/x") } == .EXDEV)
        let parent = String(long[..<(long.lastIndex(of: "/") ?? long.startIndex)])
        try f.rename(long, parent + "/renamed")  // same directory: the name alone
        #expect(try f.read(parent + "/renamed/f") == "f")
    }
}
