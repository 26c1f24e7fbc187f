import LayerAPI
import Testing

/// Paths stay right across renames whatever a layer caches about directories: a file moved
/// (from work into the tree, as copy-up does) leaves every directory where it was; a directory
/// moved, exchanged or replaced is found at its new path only.
@Suite("rename and cached directories")
struct RenameCacheTests {
    @Test(arguments: LayerFactory.all)
    func pathsAfterFileAndDirectoryMoves(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("a"), mode: 0o755)
            try layer.mkdir(at("a/b"), mode: 0o755)
            try layer.mkdir(at("c"), mode: 0o755)
            try layer.mkdir(at("c/b"), mode: 0o755)
            try makeFile(layer, at("a/b/x"), "1")
            try makeFile(layer, at("c/b/y"), "2")
            // A file moved in from work: a/b (cached by the calls above) is still a/b.
            try makeFile(layer, work("w"), "3")
            try layer.rename(from: work("w"), to: at("a/b/z"), flags: .noReplace)
            #expect(try contents(layer, at("a/b/z")) == bytes("3"))
            #expect(try names(layer, at("a/b")) == ["x", "z"])
            // Directories moved: the old cached paths must not lead to them.
            try layer.rename(from: at("a/b"), to: at("c/moved"), flags: [])
            #expect(throws: Errno.ENOENT) { try layer.stat(at("a/b/x")) }
            #expect(try contents(layer, at("c/moved/x")) == bytes("1"))
            try layer.rename(from: at("c/moved"), to: at("c/b"), flags: .exchange)
            #expect(try contents(layer, at("c/b/x")) == bytes("1"))
            #expect(try contents(layer, at("c/moved/y")) == bytes("2"))
            try layer.unlink(at("c/moved/y"))
            try layer.rename(from: at("c/b"), to: at("c/moved"), flags: [])  // over an empty directory
            #expect(try names(layer, at("c/moved")) == ["x", "z"])
            #expect(throws: Errno.ENOENT) { try layer.stat(at("c/b")) }
            try makeFile(layer, at("c/moved/new"))
            #expect(try names(layer, at("c/moved")) == ["new", "x", "z"])
        }
    }
}
