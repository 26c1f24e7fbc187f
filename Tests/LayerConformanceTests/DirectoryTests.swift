import LayerAPI
import Testing

@Suite("directories and links")
struct DirectoryTests {
    @Test(arguments: LayerFactory.all)
    func mkdirRmdirAndLinkCounts(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("a"), mode: 0o755)
            try layer.mkdir(at("a/b"), mode: 0o755)
            try makeFile(layer, at("a/f"))
            #expect(try layer.stat(at("")).nlink == 3)
            #expect(try layer.stat(at("a")).nlink == 3)
            #expect(try layer.stat(at("a/b")).nlink == 2)
            #expect(throws: Errno.EEXIST) { try layer.mkdir(at("a"), mode: 0o755) }
            #expect(throws: Errno.EEXIST) { try layer.mkdir(at("a/f"), mode: 0o755) }
            #expect(throws: Errno.ENOENT) { try layer.mkdir(at("x/y"), mode: 0o755) }
            #expect(throws: Errno.ENOTEMPTY) { try layer.rmdir(at("a")) }
            #expect(throws: Errno.ENOTDIR) { try layer.rmdir(at("a/f")) }
            #expect(throws: Errno.ENOENT) { try layer.rmdir(at("a/zz")) }
            try layer.symlink(at("s"), target: bytes("a"))
            #expect(throws: Errno.ENOTDIR) { try layer.rmdir(at("s")) }
            try layer.rmdir(at("a/b"))
            #expect(try layer.stat(at("a")).nlink == 2)
            try layer.unlink(at("a/f"))
            try layer.rmdir(at("a"))
            #expect(try layer.stat(at("")).nlink == 2)
            #expect(throws: Errno.ENOENT) { try layer.stat(at("a")) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func readDirectoryListsExactlyTheEntries(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("d"), mode: 0o755)
            try makeFile(layer, at("d/file"))
            try layer.mkdir(at("d/sub"), mode: 0o755)
            try layer.symlink(at("d/link"), target: bytes("file"))
            try layer.mknod(at("d/fifo"), mode: S_IFIFO | 0o644, rdev: 0)
            try layer.mknod(at("d/wh"), mode: S_IFCHR, rdev: 0)
            try layer.mknod(at("d/sock"), mode: S_IFSOCK | 0o644, rdev: 0)
            try layer.mknod(at("d/blk"), mode: S_IFBLK | 0o644, rdev: makedev(7, 0))
            try makeFile(layer, at("d/sub/hidden"))
            let raw = Name(validated: [0xFF, 0xFE, 0x41])  // not UTF-8
            let f = try layer.create(.tree(RelPath([name("d"), raw])), flags: .writeOnly, mode: 0o600)
            f.close()

            let entries = try layer.readDirectory(at("d"))
            let expected: [String: FileType] = [
                "file": .regular, "sub": .directory, "link": .symlink, "fifo": .fifo,
                "wh": .characterDevice, "sock": .socket, "blk": .blockDevice,
            ]
            #expect(entries.count == expected.count + 1)
            #expect(Set(entries.map(\.name)).count == entries.count)
            for entry in entries {
                let st = try layer.stat(.tree(RelPath([name("d"), entry.name])))
                #expect(entry.ino == st.ino, "\(entry.name)")
                #expect(entry.type == st.type, "\(entry.name)")
                if entry.name == raw {
                    #expect(entry.type == .regular)
                } else {
                    #expect(expected[entry.name.description] == entry.type, "\(entry.name)")
                }
            }
            #expect(try names(layer, at("d/sub")) == ["hidden"])
            #expect(try layer.readDirectory(at("d/sub")).count == 1)
            #expect(throws: Errno.ENOTDIR) { _ = try layer.readDirectory(at("d/file")) }
            #expect(throws: Errno.ENOTDIR) { _ = try layer.readDirectory(at("d/link")) }
            #expect(throws: Errno.ENOENT) { _ = try layer.readDirectory(at("nope")) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func symlinkAndReadLink(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let target: [UInt8] = [0xFF, 0x2F, 0x61, 0x2E, 0x2E]  // "\xff/a.." — any bytes
            try layer.symlink(at("s"), target: target)
            #expect(try layer.readLink(RelPath([name("s")])) == target)
            #expect(try layer.stat(at("s")).size == Int64(target.count))
            try layer.symlink(at("dangling"), target: bytes("/nonexistent/x"))
            #expect(try layer.stat(at("dangling")).type == .symlink)
            #expect(throws: Errno.EEXIST) { try layer.symlink(at("s"), target: bytes("x")) }
            #expect(throws: Errno.ENOENT) { try layer.symlink(at("empty"), target: []) }
            try makeFile(layer, at("f"))
            #expect(throws: Errno.EINVAL) { _ = try layer.readLink(RelPath([name("f")])) }
            #expect(throws: Errno.ENOENT) { _ = try layer.readLink(RelPath([name("missing")])) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func hardLinks(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"), "data")
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.link(from: at("f"), to: at("d/g"))
            let f = try layer.stat(at("f"))
            let g = try layer.stat(at("d/g"))
            #expect(f.ino == g.ino)
            #expect(f.nlink == 2 && g.nlink == 2)
            #expect(try contents(layer, at("d/g")) == bytes("data"))
            #expect(try layer.readDirectory(at("d")).first?.ino == f.ino)
            #expect(throws: Errno.EPERM) { try layer.link(from: at("d"), to: at("d2")) }
            #expect(throws: Errno.EEXIST) { try layer.link(from: at("f"), to: at("d/g")) }
            #expect(throws: Errno.EEXIST) { try layer.link(from: at("f"), to: at("d")) }
            #expect(throws: Errno.ENOENT) { try layer.link(from: at("missing"), to: at("x")) }
            try layer.symlink(at("s"), target: bytes("f"))
            try layer.link(from: at("s"), to: at("s2"))  // links the symlink itself
            #expect(try layer.stat(at("s2")).type == .symlink)
            #expect(try layer.stat(at("s")).nlink == 2)
            try layer.unlink(at("f"))
            #expect(try layer.stat(at("d/g")).nlink == 1)
            #expect(try contents(layer, at("d/g")) == bytes("data"))
            // Work and tree share one filesystem.
            try makeFile(layer, work("w"), "w")
            try layer.link(from: work("w"), to: at("fromwork"))
            #expect(try layer.stat(at("fromwork")).ino == layer.stat(work("w")).ino)
            #expect(try layer.stat(work("w")).nlink == 2)
        }
    }

    @Test(arguments: LayerFactory.all)
    func unlink(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            try layer.mkdir(at("d"), mode: 0o755)
            try layer.symlink(at("s"), target: bytes("f"))
            try layer.mknod(at("p"), mode: S_IFIFO | 0o600, rdev: 0)
            #expect(throws: Errno.EISDIR) { try layer.unlink(at("d")) }
            #expect(throws: Errno.ENOENT) { try layer.unlink(at("missing")) }
            #expect(throws: Errno.ENOTDIR) { try layer.unlink(at("f/x")) }
            try layer.unlink(at("s"))
            #expect(try layer.stat(at("f")).type == .regular)
            try layer.unlink(at("p"))
            try layer.unlink(at("f"))
            #expect(try names(layer, at("")) == ["d"])
        }
    }

    @Test(arguments: LayerFactory.all)
    func removeTree(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("t"), mode: 0o755)
            try layer.mkdir(at("t/a"), mode: 0o755)
            try layer.mkdir(at("t/a/b"), mode: 0o700)
            try makeFile(layer, at("t/a/b/f"), "x")
            try layer.symlink(at("t/a/s"), target: bytes("../../keep"))
            try layer.mknod(at("t/wh"), mode: S_IFCHR, rdev: 0)
            try makeFile(layer, at("keep"), "k")
            try layer.link(from: at("keep"), to: at("t/a/hard"))
            try layer.removeTree(at("t"))
            #expect(throws: Errno.ENOENT) { try layer.stat(at("t")) }
            #expect(try names(layer, at("")) == ["keep"])
            #expect(try layer.stat(at("")).nlink == 2)
            #expect(try layer.stat(at("keep")).nlink == 1)
            #expect(try contents(layer, at("keep")) == bytes("k"))
            try layer.removeTree(at("keep"))
            #expect(try names(layer, at("")) == [])
            #expect(throws: Errno.ENOENT) { try layer.removeTree(at("missing")) }
            // A subtree moved into the work directory is removed from there too.
            try layer.mkdir(at("x"), mode: 0o755)
            try layer.mkdir(at("x/y"), mode: 0o755)
            try makeFile(layer, at("x/y/f"), "f")
            try layer.rename(from: at("x"), to: work("wd"), flags: [])
            #expect(try layer.stat(at("")).nlink == 2)
            try layer.removeTree(work("wd"))
            #expect(throws: Errno.ENOENT) { try layer.stat(work("wd")) }
        }
    }

    @Test(arguments: LayerFactory.all)
    func setgidDirectoryInheritance(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("sg"), mode: 0o775)
            try layer.chown(at("sg"), uid: nil, gid: 77)
            try layer.chmod(at("sg"), mode: 0o2775)
            try makeFile(layer, at("sg/f"), mode: 0o644)
            try layer.mkdir(at("sg/d"), mode: 0o755)
            let f = try layer.stat(at("sg/f"))
            #expect(f.gid == 77 && f.uid == 0)
            #expect(f.mode == S_IFREG | 0o644)
            let d = try layer.stat(at("sg/d"))
            #expect(d.gid == 77)
            #expect(d.mode == S_IFDIR | 0o2755)
        }
    }

    @Test(arguments: LayerFactory.all)
    func parentTimesChangeOnEntryChanges(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try layer.mkdir(at("p"), mode: 0o755)
            try layer.mkdir(at("q"), mode: 0o755)
            func reset() throws {
                for d in ["p", "q"] {
                    try layer.setTimes(at(d), access: .set(longAgo), modification: .set(longAgo))
                }
            }
            func changed(_ d: String, _ what: String) throws {
                let st = try layer.stat(at(d))
                #expect(st.mtime > longAgo, "\(what): \(d) mtime")
                #expect(st.mtime == st.ctime, "\(what): \(d) ctime")
                #expect(st.atime == longAgo, "\(what): \(d) atime")
            }
            try reset()
            try makeFile(layer, at("p/f"))
            try changed("p", "create")
            #expect(try layer.stat(at("q")).mtime == longAgo)
            try reset()
            try layer.mkdir(at("p/d"), mode: 0o755)
            try changed("p", "mkdir")
            try reset()
            try layer.symlink(at("p/s"), target: bytes("f"))
            try changed("p", "symlink")
            try reset()
            try layer.mknod(at("p/n"), mode: S_IFIFO | 0o644, rdev: 0)
            try changed("p", "mknod")
            try reset()
            try layer.link(from: at("p/f"), to: at("q/h"))
            try changed("q", "link")
            #expect(try layer.stat(at("p")).mtime == longAgo)
            try reset()
            try layer.rename(from: at("p/s"), to: at("q/s"), flags: [])
            try changed("p", "rename")
            try changed("q", "rename")
            try reset()
            try layer.unlink(at("q/h"))
            try changed("q", "unlink")
            try reset()
            try layer.rmdir(at("p/d"))
            try changed("p", "rmdir")
        }
    }

    @Test(arguments: LayerFactory.all)
    func linkAndUnlinkChangeTheInodeCtime(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("f"))
            let before = try layer.stat(at("f")).ctime
            try await tick()
            try layer.link(from: at("f"), to: at("g"))
            let linked = try layer.stat(at("f")).ctime
            #expect(linked > before)
            try await tick()
            try layer.unlink(at("g"))
            #expect(try layer.stat(at("f")).ctime > linked)
        }
    }
}

@Suite("paths longer than PATH_MAX")
struct LongPathTests {
    /// A tree deeper than the kernel's PATH_MAX (4096 bytes) is as usable as a shallow one: kernel
    /// overlayfs handles such trees, so the layers must too (each step is one name, never the
    /// whole path, as far as the caller is concerned).
    @Test(arguments: LayerFactory.all)
    func deepTreeBeyondPathMax(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let step = name(String(repeating: "d", count: 100))
            var path = RelPath()
            for _ in 0..<45 {  // 45 * 101 bytes > 4096
                path = path.appending(step)
                try layer.mkdir(.tree(path), mode: 0o755)
            }
            #expect(path.bytes.count > 4096)
            let file = path.appending(name("leaf"))
            try makeFile(layer, .tree(file), "deep")
            #expect(try contents(layer, .tree(file)) == bytes("deep"))
            #expect(try layer.stat(.tree(file)).size == 4)
            #expect(try layer.readDirectory(.tree(path)).map(\.name) == [name("leaf")])
            try layer.setXattr(.tree(file), bytes("user.k"), bytes("v"), flags: [])
            #expect(try layer.getXattr(.tree(file), bytes("user.k")) == bytes("v"))
            let moved = path.appending(name("moved"))
            try layer.rename(from: .tree(file), to: .tree(moved), flags: [])
            try layer.unlink(.tree(moved))
            try layer.removeTree(.tree(RelPath([step])))
            #expect(throws: Errno.ENOENT) { try layer.stat(.tree(RelPath([step]))) }
        }
    }
}
