import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

@Suite struct CopyUpTests {
    @Test func writeCopiesUpKeepingMetadataAndLeavesLowerAlone() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/file", "0123456789", mode: 0o4750, uid: 1234, gid: 5678)
            try b.lowers[0].setXattr(.tree(RelPath("d/file")), Array("user.k".utf8), Array("v".utf8), flags: [])
            try b.lowers[0].setTimes(
                .tree(RelPath("d/file")), access: .set(Timespec(seconds: 1000, nanoseconds: 5)),
                modification: .set(Timespec(seconds: 2000, nanoseconds: 123_456_789)))
            try b.lowers[0].setTimes(
                .tree(RelPath("d")), access: .set(Timespec(seconds: 3000, nanoseconds: 1)),
                modification: .set(Timespec(seconds: 4000, nanoseconds: 2)))
        }
        let upper = try #require(f.upper)
        let before = try f.stat("d/file")
        // Opening for write copies up; the data is all there before any write.
        let h = try f.fs.open(try f.node("d/file"), flags: .readWrite, caller: .root)
        f.fs.release(h)
        let up = try upper.stat(.tree(RelPath("d/file")))
        #expect(up.size == 10)
        #expect(up.uid == 1234 && up.gid == 5678)
        #expect(up.permissions == 0o4750)
        #expect(up.mtime == Timespec(seconds: 2000, nanoseconds: 123_456_789))
        #expect(try upper.getXattr(.tree(RelPath("d/file")), Array("user.k".utf8)) == Array("v".utf8))
        // The copied-up parent keeps the lower parent's times, despite the rename into it.
        let dir = try upper.stat(.tree(RelPath("d")))
        #expect(dir.mtime == Timespec(seconds: 4000, nanoseconds: 2))
        #expect(try f.read("d/file") == "0123456789")
        try f.write("d/file", "AB", at: 2)
        #expect(try f.read("d/file") == "01AB456789")
        #expect(try f.stat("d/file").ino == before.ino)
        let lowerData = try f.lowers[0].stat(RelPath("d/file"))
        #expect(lowerData.size == 10)
    }

    @Test func truncateToZeroSkipsDataAndKeepsOwner() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", String(repeating: "x", count: 10000), uid: 7, gid: 8) }
        let n = try f.node("f")
        let st = try f.fs.setattr(n, AttrChanges(size: 0), handle: nil, caller: .root)
        #expect(st.size == 0)
        #expect(st.uid == 7 && st.gid == 8)
        #expect(try f.read("f") == "")
        #expect(try f.lowers[0].stat(RelPath("f")).size == 10000)
    }

    @Test func chmodChownUtimensCopyUpSymlinksAndSpecialFiles() throws {
        let f = try Fixture { b in
            try b.dirs(b.lowers[0], "a/b")
            try b.lowers[0].symlink(.tree(RelPath("a/b/link")), target: Array("../target".utf8))
            try b.lowers[0].mknod(.tree(RelPath("a/b/fifo")), mode: FileType.fifo.modeBits | 0o640, rdev: 0)
        }
        let upper = try #require(f.upper)
        let fifo = try f.node("a/b/fifo")
        _ = try f.fs.setattr(fifo, AttrChanges(mode: 0o600), handle: nil, caller: .root)
        let up = try upper.stat(.tree(RelPath("a/b/fifo")))
        #expect(up.type == .fifo && up.permissions == 0o600)
        let link = try f.node("a/b/link")
        _ = try f.fs.setattr(link, AttrChanges(uid: 42, gid: 43), handle: nil, caller: .root)
        #expect(try upper.readLink(RelPath("a/b/link")) == Array("../target".utf8))
        #expect(try f.stat("a/b/link").uid == 42)
        #expect(try f.fs.readlink(link) == Array("../target".utf8))
    }

    @Test func readHandleFollowsTheFileAfterCopyUp() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", "old!") }
        let reader = try f.fs.open(try f.node("f"), flags: .readOnly, caller: .root)
        defer { f.fs.release(reader) }
        try f.write("f", "new!")
        var buf = [UInt8](repeating: 0, count: 16)
        let n = try buf.withUnsafeMutableBytes { (b) throws(Errno) -> Int in try f.fs.read(reader, into: b, at: 0) }
        #expect(String(decoding: buf[0..<n], as: UTF8.self) == "new!")
    }

    @Test func setxattrCopiesUpAndPrivateNamesAreRefused() throws {
        let f = try Fixture { b in try b.file(b.lowers[0], "f", "x") }
        let n = try f.node("f")
        try f.fs.setxattr(n, name: Array("user.a".utf8), value: Array("1".utf8), flags: [], caller: .root)
        #expect(try f.fs.getxattr(n, name: Array("user.a".utf8)) == Array("1".utf8))
        #expect(try f.upper?.getXattr(.tree(RelPath("f")), Array("user.a".utf8)) == Array("1".utf8))
        #expect(f.errno { try f.fs.setxattr(n, name: Array("trusted.overlay.opaque".utf8), value: [0x79], flags: [], caller: .root) } == .EPERM)
        #expect(f.errno { _ = try f.fs.getxattr(n, name: Array("trusted.overlay.x".utf8)) } == .ENODATA)
        try f.fs.removexattr(n, name: Array("user.a".utf8), caller: .root)
        #expect(f.errno { _ = try f.fs.getxattr(n, name: Array("user.a".utf8)) } == .ENODATA)
    }
}

@Suite struct CapabilityCopyUpTests {
    /// security.capability v2 (cap_net_raw+ep), 20 bytes.
    static let cap: [UInt8] = [0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    static let name = Array("security.capability".utf8)

    /// A chown clears security.capability, so copy-up must set it after the owner (it did it
    /// before: a chmod or touch of a lower file with file capabilities lost them, and a chown
    /// failed with ENODATA when the kernel then removed the capability it expected).
    @Test func copyUpKeepsFileCapabilities() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "bin", "x", mode: 0o755, uid: 5, gid: 6)
            try b.lowers[0].setXattr(.tree(RelPath("bin")), CapabilityCopyUpTests.name, CapabilityCopyUpTests.cap, flags: [])
        }
        _ = try f.fs.setattr(try f.node("bin"), AttrChanges(mode: 0o700), handle: nil, caller: .root)
        #expect(try f.fs.getxattr(try f.node("bin"), name: CapabilityCopyUpTests.name) == CapabilityCopyUpTests.cap)
        let st = try f.stat("bin")
        #expect(st.uid == 5 && st.gid == 6 && st.permissions == 0o700)
    }

    /// The kernel's chown of a file with capabilities: removal of the capability it found
    /// (setattr_prepare's killpriv), then the setattr.
    @Test func chownOfALowerFileWithCapabilities() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "bin", "x", mode: 0o755)
            try b.lowers[0].setXattr(.tree(RelPath("bin")), CapabilityCopyUpTests.name, CapabilityCopyUpTests.cap, flags: [])
        }
        try f.fs.removexattr(try f.node("bin"), name: CapabilityCopyUpTests.name, caller: .root)
        _ = try f.fs.setattr(try f.node("bin"), AttrChanges(uid: 7, gid: 8), handle: nil, caller: .root)
        #expect(try f.stat("bin").uid == 7)
        #expect(f.errno { try f.fs.getxattr(try f.node("bin"), name: CapabilityCopyUpTests.name) } == .ENODATA)
    }

    /// A regular file is copied up into an unnamed file that is then linked into place (a failed
    /// link leaves neither the copy nor anything in the work directory); a directory is built as a
    /// named work entry and renamed.
    @Test func regularFileCopyIsLinkedDirectoryIsRenamed() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "d/file", "data")
            try b.file(b.lowers[0], "d/other", "o")
            try b.dirs(b.lowers[0], "e/sub")
        }
        let upper = try #require(f.upper)
        upper.injectFault(.EDQUOT, on: .link)
        #expect(f.errno { try f.write("d/file", "x", at: 4) } == .EDQUOT)
        #expect(f.errno { _ = try upper.stat(.tree(RelPath("d/file"))) } == .ENOENT)
        #expect(try upper.readDirectory(.tree(RelPath("d"))).isEmpty)
        try f.write("d/file", "x", at: 4)
        #expect(try f.read("d/file") == "datax")
        upper.injectFault(.EDQUOT, on: .link)
        // Copies up e and e/sub (renamed into place): the pending link fault does not fire...
        #expect(f.errno { try f.mkdir("e/sub/new") } == nil)
        // ...until the next regular file's copy-up links it.
        #expect(f.errno { try f.write("d/other", "y", at: 1) } == .EDQUOT)
    }
}
