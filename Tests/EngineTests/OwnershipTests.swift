import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Id shifting through the engine: storage ids in the layers, visible ids through the mount.
@Suite struct OwnershipTests {
    static func mapped() -> EngineOptions {
        var o = EngineOptions()
        o.uidMap = IDMap(ranges: [.init(storage: 0, visible: 100_000, count: 65536)])
        o.gidMap = IDMap(ranges: [.init(storage: 0, visible: 100_000, count: 65536)])
        return o
    }

    @Test func storedIDsShowShiftedAndWritesMapBack() throws {
        let f = try Fixture(options: Self.mapped()) { b in
            try b.file(b.lowers[0], "etc/passwd", "root", uid: 0, gid: 0)
            try b.file(b.lowers[0], "home/u/f", "x", uid: 1000, gid: 1000)
            try b.lowers[0].chown(.tree(RelPath("home/u")), uid: 1000, gid: 1000)
            try b.file(b.lowers[0], "odd", "x", uid: 70000, gid: 70000)
        }
        #expect(try f.stat("etc/passwd").uid == 100_000)
        #expect(try f.stat("home/u/f").gid == 101_000)
        #expect(try f.stat("odd").uid == 65534)
        // A file the namespace's root creates is stored as 0: the upper stays a normal layer.
        try f.create("home/u/new", caller: Caller(uid: 100_000, gid: 100_000))
        let stored = try #require(try f.upper?.stat(.tree(RelPath("home/u/new"))))
        #expect(stored.uid == 0 && stored.gid == 0)
        #expect(try f.stat("home/u/new").uid == 100_000)
        // chown to a visible id stores the storage id.
        _ = try f.fs.setattr(try f.node("etc/passwd"), AttrChanges(uid: 101_000, gid: 101_000), handle: nil, caller: .root)
        #expect(try f.upper?.stat(.tree(RelPath("etc/passwd"))).uid == 1000)
        #expect(try f.stat("etc/passwd").uid == 101_000)
        // Copy-up kept the stored owner of the lower, unshifted.
        #expect(try f.upper?.stat(.tree(RelPath("home/u"))).uid == 1000)
    }

    /// dropSetID (a write, truncate or chown under FUSE_HANDLE_KILLPRIV_V2): setuid goes, setgid
    /// only with group execute; a file with neither bit is not even copied up.
    @Test func dropSetIDClearsOnlyWhatIsSet() throws {
        let f = try Fixture { b in
            try b.file(b.lowers[0], "suid", "x", mode: 0o4755)
            try b.file(b.lowers[0], "sgid-x", "x", mode: 0o2775)
            try b.file(b.lowers[0], "sgid-nox", "x", mode: 0o2765)
            try b.file(b.lowers[0], "plain", "x", mode: 0o644)
            try b.dirs(b.lowers[0], "dir")
            try b.lowers[0].chmod(.tree(RelPath("dir")), mode: 0o2775)  // mkdir drops setgid
        }
        let drop = AttrChanges(dropSetID: true)
        #expect(!drop.isEmpty && drop.setsNothing)
        for (path, after) in [("suid", 0o755), ("sgid-x", 0o775), ("sgid-nox", 0o2765), ("plain", 0o644), ("dir", 0o2775)] {
            let st = try f.fs.setattr(try f.node(path), drop, handle: nil, caller: .root)
            #expect(st.permissions == UInt32(after), "\(path)")
            #expect(try f.stat(path).permissions == UInt32(after), "\(path)")
        }
        #expect(try f.upper?.stat(.tree(RelPath("suid"))).permissions == 0o755)
        #expect(f.errno { try f.upper?.stat(.tree(RelPath("plain"))) } == .ENOENT, "nothing to clear: no copy-up")
        #expect(f.errno { try f.upper?.stat(.tree(RelPath("dir"))) } == .ENOENT, "directories keep setgid")
        // With a size change, after it (truncate by a caller without CAP_FSETID).
        let st = try f.fs.setattr(try f.node("sgid-x"), AttrChanges(size: 0, dropSetID: true), handle: nil, caller: .root)
        #expect(st.size == 0 && st.permissions == 0o775)
    }

    @Test func callerOutsideTheMapIsStoredAsOverflow() throws {
        let f = try Fixture(options: Self.mapped()) { b in try b.dirs(b.lowers[0], "d") }
        try f.create("d/byhost", caller: Caller(uid: 0, gid: 0))
        #expect(try f.upper?.stat(.tree(RelPath("d/byhost"))).uid == 65534)
        _ = try f.fs.setattr(try f.node("d/byhost"), AttrChanges(uid: 5), handle: nil, caller: .root)
        #expect(try f.upper?.stat(.tree(RelPath("d/byhost"))).uid == 65534)
    }

    @Test func squashShowsOneOwner() throws {
        var o = EngineOptions()
        o.squashUID = 0
        o.squashGID = 5000
        let f = try Fixture(options: o) { b in try b.file(b.lowers[0], "f", "x", uid: 12, gid: 34) }
        let st = try f.stat("f")
        #expect(st.uid == 0 && st.gid == 5000)
        #expect(try f.lowers[0].stat(RelPath("f")).uid == 12)
    }

    @Test func overrideStatOfALowerIsHonouredAndHidden() throws {
        let f = try Fixture(options: Self.mapped()) { b in
            let name = Array("user.containers.override_stat".utf8)
            try b.lowers[0].setXattr(.tree(.root), name, Array("0:0:0755".utf8), flags: [])
            try b.file(b.lowers[0], "bin/tool", "x", mode: 0o600, uid: 1000, gid: 1000)
            try b.lowers[0].setXattr(.tree(RelPath("bin/tool")), name, Array("0:0:04755:file".utf8), flags: [])
        }
        let st = try f.stat("bin/tool")
        #expect(st.uid == 100_000 && st.gid == 100_000)
        #expect(st.permissions == 0o4755)
        let n = try f.node("bin/tool")
        #expect(!(try f.fs.listxattr(n)).contains(Array("user.containers.override_stat".utf8)))
        #expect(f.errno { try f.fs.setxattr(n, name: Array("user.containers.override_stat".utf8), value: [0x30], flags: [], caller: .root) } == .EPERM)
        // Copy-up into a plain upper makes the override real.
        try f.write("bin/tool", "y")
        let up = try #require(try f.upper?.stat(.tree(RelPath("bin/tool"))))
        #expect(up.uid == 0 && up.permissions == 0o4755)
        #expect(try f.stat("bin/tool").permissions == 0o4755)
    }

    @Test func xattrPermissionsKeepsOwnersInTheUpperXattr() throws {
        var o = Self.mapped()
        o.xattrPermissions = 2
        let f = try Fixture(options: o) { b in try b.file(b.lowers[0], "f", "x", uid: 3, gid: 4) }
        let upper = try #require(f.upper)
        let name = Array("user.fuseoverlayfs.override_stat".utf8)
        #expect(try upper.getXattr(.tree(.root), name).isEmpty == false)  // the layer marker
        _ = try f.fs.setattr(try f.node("f"), AttrChanges(mode: 0o640, uid: 100_007, gid: 100_008), handle: nil, caller: .root)
        let stored = try upper.getXattr(.tree(RelPath("f")), name)
        #expect(String(decoding: stored, as: UTF8.self) == "7:8:0640")
        let st = try f.stat("f")
        #expect(st.uid == 100_007 && st.gid == 100_008 && st.permissions == 0o640)
        try f.create("new", mode: 0o600, caller: Caller(uid: 100_001, gid: 100_002))
        #expect(String(decoding: try upper.getXattr(.tree(RelPath("new")), name), as: UTF8.self) == "1:2:0600")
    }

    static func acl(_ entries: [(UInt16, UInt16, UInt32)]) -> [UInt8] {
        var out: [UInt8] = [2, 0, 0, 0]
        for (tag, perm, id) in entries {
            out += [UInt8(tag & 0xFF), UInt8(tag >> 8), UInt8(perm & 0xFF), UInt8(perm >> 8)]
            out += (0..<4).map { UInt8(truncatingIfNeeded: id >> (8 * UInt32($0))) }
        }
        return out
    }

    @Test func aclIDsAreTranslatedBothWays() throws {
        let stored = Self.acl([(0x01, 6, UInt32.max), (0x02, 4, 1000), (0x04, 4, UInt32.max), (0x08, 4, 50), (0x10, 7, UInt32.max), (0x20, 0, UInt32.max)])
        let name = Array("system.posix_acl_access".utf8)
        let o = Self.mapped()
        // (The memory layer has no system.* namespace; the real-mount test covers the path.)
        let shown = IDXattrs.toVisible(name, stored, uid: o.uidMap, gid: o.gidMap)
        let expected = Self.acl([(0x01, 6, UInt32.max), (0x02, 4, 101_000), (0x04, 4, UInt32.max), (0x08, 4, 100_050), (0x10, 7, UInt32.max), (0x20, 0, UInt32.max)])
        #expect(shown == expected)
        #expect(IDXattrs.toStorage(name, shown, uid: o.uidMap, gid: o.gidMap) == stored)
        #expect(IDXattrs.toStorage(name, Self.acl([(0x02, 7, 5)]), uid: o.uidMap, gid: o.gidMap) == Self.acl([(0x02, 7, 65534)]))
        // Not an ACL: left alone.
        #expect(IDXattrs.toVisible(name, [1, 2, 3], uid: o.uidMap, gid: o.gidMap) == [1, 2, 3])
    }

    @Test func capabilityRootIDIsShifted() throws {
        let v2: [UInt8] = [0, 0, 0, 2, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  // cap_net_raw=p
        let name = Array("security.capability".utf8)
        let f = try Fixture(options: Self.mapped()) { b in
            try b.file(b.lowers[0], "ping", "x")
            try b.lowers[0].setXattr(.tree(RelPath("ping")), name, v2, flags: [])
        }
        let n = try f.node("ping")
        let shown = try f.fs.getxattr(n, name: name)
        #expect(shown.count == 24)
        #expect(Array(shown[0..<4]) == [0, 0, 0, 3])
        #expect(Array(shown[4..<20]) == Array(v2[4..<20]))
        #expect(Array(shown[20..<24]) == [0xA0, 0x86, 0x01, 0x00])  // 100000
        // Written back by the namespace root: stored as the plain v2 an image carries.
        try f.fs.setxattr(n, name: name, value: shown, flags: [], caller: .root)
        #expect(try f.upper?.getXattr(.tree(RelPath("ping")), name) == v2)
    }
}

@Suite struct OptionTests {
    @Test func noxattrsRefusesEveryXattrCall() throws {
        var o = EngineOptions()
        o.xattrs = false
        let f = try Fixture(options: o) { b in try b.file(b.lowers[0], "f", "x") }
        let n = try f.node("f")
        #expect(f.errno { try f.fs.getxattr(n, name: Array("user.a".utf8)) } == .EOPNOTSUPP)
        #expect(f.errno { try f.fs.listxattr(n) } == .EOPNOTSUPP)
        #expect(f.errno { try f.fs.setxattr(n, name: Array("user.a".utf8), value: [1], flags: [], caller: .root) } == .EOPNOTSUPP)
        #expect(f.errno { try f.fs.removexattr(n, name: Array("user.a".utf8), caller: .root) } == .EOPNOTSUPP)
        #expect(f.errno { _ = try f.upper?.stat(.tree(RelPath("f"))) } == .ENOENT, "nothing was copied up")
    }

    @Test func staticNlinkShowsOneForEveryDirectory() throws {
        var o = EngineOptions()
        o.staticNlink = true
        let f = try Fixture(options: o) { b in try b.dirs(b.lowers[0], "d/a/x") ; try b.dirs(b.lowers[0], "d/b") }
        #expect(try f.stat("d").nlink == 1)
        let plain = try Fixture { b in try b.dirs(b.lowers[0], "d/a/x") ; try b.dirs(b.lowers[0], "d/b") }
        #expect(try plain.stat("d").nlink == 4)
    }

    @Test func ino32FoldsInodeNumbersConsistently() throws {
        var o = EngineOptions()
        o.ino32 = true
        let f = try Fixture(lowers: 2, options: o) { b in
            try b.file(b.lowers[0], "d/a", "a")
            try b.file(b.lowers[1], "d/b", "b")
        }
        let a = try f.stat("d/a").ino
        let b = try f.stat("d/b").ino
        #expect(a <= UInt64(UInt32.max) && b <= UInt64(UInt32.max) && a != 0)
        #expect(a != b)
        let h = try f.node("d")
        let listed = try f.fs.readdir(node: h, from: 0)
        #expect(listed.first { $0.name == Array("a".utf8) }?.ino == a)
        #expect(listed.first { $0.name == Array("b".utf8) }?.ino == b)
    }
}
