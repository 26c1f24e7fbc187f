import LayerAPI
import Testing

@Suite("stat")
struct StatTests {
    @Test(arguments: LayerFactory.all)
    func rootIsAnEmptyDirectory(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let st = try layer.stat(at(""))
            #expect(st.type == .directory)
            #expect(st.nlink == 2)
            #expect(try layer.stat(RelPath.root) == st)
            #expect(try layer.readDirectory(at("")).isEmpty)
        }
    }

    @Test(arguments: LayerFactory.all)
    func everyFileType(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("file"))
            try layer.mkdir(at("dir"), mode: 0o755)
            try layer.symlink(at("link"), target: bytes("target"))
            try layer.mknod(at("fifo"), mode: S_IFIFO | 0o644, rdev: 0)
            try layer.mknod(at("whiteout"), mode: S_IFCHR, rdev: 0)
            try layer.mknod(at("null"), mode: S_IFCHR | 0o666, rdev: makedev(1, 3))
            try layer.mknod(at("sda1"), mode: S_IFBLK | 0o660, rdev: makedev(8, 1))
            try layer.mknod(at("sock"), mode: S_IFSOCK | 0o755, rdev: 0)
            try layer.mknod(at("plain"), mode: 0o600, rdev: 0)

            let file = try layer.stat(at("file"))
            #expect(file.mode == S_IFREG | 0o644)
            #expect(file.nlink == 1)
            #expect(file.size == 0)
            #expect(file.blocks == 0)
            #expect(file.blksize == 4096)
            #expect(file.uid == 0 && file.gid == 0)
            #expect(file.rdev == 0)
            #expect(file.atime == file.mtime && file.mtime == file.ctime)

            let dir = try layer.stat(at("dir"))
            #expect(dir.mode == S_IFDIR | 0o755)
            #expect(dir.nlink == 2)
            #expect(dir.atime == dir.mtime && dir.mtime == dir.ctime)

            let link = try layer.stat(at("link"))
            #expect(link.mode == S_IFLNK | 0o777)
            #expect(link.size == 6)
            #expect(link.nlink == 1)

            let fifo = try layer.stat(at("fifo"))
            #expect(fifo.mode == S_IFIFO | 0o644)
            #expect(fifo.rdev == 0)
            #expect(fifo.size == 0)

            let wh = try layer.stat(at("whiteout"))
            #expect(wh.mode == S_IFCHR)
            #expect(wh.rdev == 0)
            #expect(wh.isWhiteoutDevice)

            let null = try layer.stat(at("null"))
            #expect(null.mode == S_IFCHR | 0o666)
            #expect(null.rdev == makedev(1, 3))
            #expect(!null.isWhiteoutDevice)

            let blk = try layer.stat(at("sda1"))
            #expect(blk.mode == S_IFBLK | 0o660)
            #expect(blk.rdev == makedev(8, 1))

            #expect(try layer.stat(at("sock")).mode == S_IFSOCK | 0o755)
            #expect(try layer.stat(at("plain")).mode == S_IFREG | 0o600)

            let all = try ["", "file", "dir", "link", "fifo", "whiteout", "null", "sda1", "sock", "plain"].map {
                try layer.stat(at($0))
            }
            #expect(Set(all.map(\.dev)).count == 1)
            #expect(Set(all.map(\.ino)).count == all.count)
            #expect(try layer.stat(at("")).nlink == 3)
        }
    }

    @Test(arguments: LayerFactory.all)
    func modesAreExactNoUmask(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("rw"), mode: 0o666)
            try makeFile(layer, at("suid"), mode: 0o4755)
            try makeFile(layer, at("none"), mode: 0)
            try layer.mkdir(at("open"), mode: 0o777)
            try layer.mkdir(at("sticky"), mode: 0o1777)
            #expect(try layer.stat(at("rw")).mode == S_IFREG | 0o666)
            #expect(try layer.stat(at("suid")).mode == S_IFREG | 0o4755)
            #expect(try layer.stat(at("none")).mode == S_IFREG)
            #expect(try layer.stat(at("open")).mode == S_IFDIR | 0o777)
            #expect(try layer.stat(at("sticky")).mode == S_IFDIR | 0o1777)
        }
    }

    @Test(arguments: LayerFactory.all)
    func mknodRefusals(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            #expect(throws: Errno.EPERM) { try layer.mknod(at("d"), mode: S_IFDIR | 0o755, rdev: 0) }
            #expect(throws: Errno.EINVAL) { try layer.mknod(at("l"), mode: S_IFLNK | 0o777, rdev: 0) }
            try layer.mknod(at("f"), mode: S_IFIFO | 0o600, rdev: 0)
            #expect(throws: Errno.EEXIST) { try layer.mknod(at("f"), mode: S_IFIFO | 0o600, rdev: 0) }
            #expect(throws: Errno.ENOENT) { try layer.mknod(at("no/f"), mode: S_IFIFO | 0o600, rdev: 0) }
            #expect(try names(layer, at("")) == ["f"])
        }
    }

    @Test(arguments: LayerFactory.all)
    func pathResolutionErrors(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            try makeFile(layer, at("file"))
            try layer.mkdir(at("dir"), mode: 0o755)
            try makeFile(layer, at("dir/inner"))
            try layer.symlink(at("link"), target: bytes("dir"))
            #expect(throws: Errno.ENOENT) { try layer.stat(at("missing")) }
            #expect(throws: Errno.ENOENT) { try layer.stat(at("missing/x")) }
            #expect(throws: Errno.ENOTDIR) { try layer.stat(at("file/x")) }
            // No symlink is followed anywhere; an intermediate one is ELOOP (RESOLVE_NO_SYMLINKS).
            #expect(throws: Errno.ELOOP) { try layer.stat(at("link/inner")) }
            #expect(throws: Errno.ELOOP) { _ = try layer.create(at("link/new"), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.ELOOP) { try layer.mkdir(at("link/new"), mode: 0o755) }
            #expect(throws: Errno.ELOOP) { _ = try layer.readDirectory(at("link/inner")) }
            #expect(throws: Errno.ELOOP) { _ = try layer.open(at("link/inner"), .readOnly) }
            #expect(try layer.stat(at("link")).type == .symlink)
            #expect(try layer.stat(at("dir/inner")).type == .regular)

            let long = String(repeating: "x", count: 256)
            let max = String(repeating: "y", count: 255)
            #expect(throws: Errno.ENAMETOOLONG) { try layer.stat(at(long)) }
            #expect(throws: Errno.ENAMETOOLONG) { try layer.stat(at(long + "/x")) }
            #expect(throws: Errno.ENAMETOOLONG) { _ = try layer.create(at(long), flags: .readWrite, mode: 0o644) }
            #expect(throws: Errno.ENAMETOOLONG) { try layer.mkdir(at(long), mode: 0o755) }
            #expect(throws: Errno.ENAMETOOLONG) { try layer.mkdir(work(long), mode: 0o755) }
            try layer.mkdir(at(max), mode: 0o755)
            #expect(try layer.stat(at(max)).type == .directory)
        }
    }

    @Test(arguments: LayerFactory.all)
    func statfsIsPlausible(_ factory: LayerFactory) async throws {
        try await withLayer(factory) { layer in
            let fs = try layer.statfs()
            #expect(fs.blockSize > 0)
            #expect(fs.blocks > 0)
            #expect(fs.blocksFree <= fs.blocks)
            #expect(fs.files > 0)
            #expect(fs.nameMax == 255)
        }
    }
}
