import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Regressions found by the kernel-oracle differential tester (shiftoverlay-difftest); each
/// test names the seed that found it.
@Suite struct DifferentialRegressionTests {
    /// difftest seed 5: `open(O_CREAT, 04755)` gave 0755 — the owner was set after the mode and
    /// chown cleared the setuid bit. The kernel keeps the requested set-id bits.
    @Test func createKeepsSetIDBits() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "d") }
        try f.create("d/suid", mode: 0o4755)
        #expect(try f.stat("d/suid").mode & 0o7777 == 0o4755)
        try f.create("d/sgid", mode: 0o2711, caller: Fixture.user)
        #expect(try f.stat("d/sgid").mode & 0o7777 == 0o2711)
        let (p, n) = try f.parentAndName("d/fifo")
        _ = try f.fs.mknod(parent: p, name: n, mode: 0o010000 | 0o4644, rdev: 0, caller: .root)
        #expect(try f.stat("d/fifo").mode & 0o7777 == 0o4644)
    }

    /// difftest seed 50: renaming one name of a hard-linked file onto another name of it does
    /// nothing (both names stay), but the kernel moves the source's node to the new name in its
    /// dentry cache. The table kept the node at the old name, so replacing the old name later
    /// detached the node the kernel used for the new one: the new name said ENOENT.
    @Test func renameOntoOwnHardLinkMovesTheNode() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "d", "dd") }
        try f.create("h", "x")
        let h = try f.node("h")
        let (p, n) = try f.parentAndName("g")
        _ = try f.fs.link(h, newParent: p, newName: n, caller: .root)
        try f.rename("h", "g")
        #expect(try f.list("") == ["d", "g", "h"])
        try f.rename("d", "h")
        #expect(try f.fs.getattr(h).size == 1)  // the node now stands for "g"
        #expect(try f.read("g") == "x")
        #expect(try f.read("h") == "dd")
    }
}
