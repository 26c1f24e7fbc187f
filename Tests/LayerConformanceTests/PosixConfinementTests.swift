import Glibc
import LayerAPI
import PosixLayer
import Sys
import Testing

/// A fresh mkdtemp directory holding `root/` (the layer), `work/` and `outside/` with a canary file.
final class Sandbox {
    let base: String
    let outer: PosixUpperLayer  // rooted at `base`, used to build and inspect fixtures
    let upper: PosixUpperLayer  // rooted at base/root with workDir base/work

    init() throws {
        var template = Array("/tmp/posixlayer.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw Errno(rawValue: errno) }
        base = template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        outer = try PosixUpperLayer(root: base, workDir: base)
        for dir in ["root", "work", "outside"] { try outer.mkdir(.tree(p(dir)), mode: 0o755) }
        let canary = try outer.create(.tree(p("outside/canary")), flags: .writeOnly, mode: 0o644)
        _ = try Array("canary".utf8).withUnsafeBytes { try canary.write($0, at: 0) }
        canary.close()
        upper = try PosixUpperLayer(root: base + "/root", workDir: base + "/work")
    }

    deinit {
        for dir in ["root", "work", "outside"] { try? outer.removeTree(.tree(p(dir))) }
        _ = rmdir(base)
    }

    /// The canary is intact and nothing new appeared next to it.
    func canaryIntact() throws -> Bool {
        let names = try outer.readDirectory(.tree(p("outside"))).map { $0.name.description }
        let st = try outer.stat(.tree(p("outside/canary")))
        return names == ["canary"] && st.size == 6 && st.permissions == 0o644 && st.nlink == 1
    }
}

func p(_ s: String) -> RelPath {
    RelPath(parsing: s) ?? RelPath()
}

func n(_ s: String) -> Name { Name(validated: Array(s.utf8)) }

/// The Errno `body` throws, nil if it succeeds (EIO stands for any other error).
func errno(of body: () throws -> Void) -> Errno? {
    do {
        try body()
        return nil
    } catch let error as Errno {
        return error
    } catch {
        return .EIO
    }
}


@Suite struct PosixConfinementTests {
    @Test func symlinksOnTheWayAreNeverFollowed() throws {
        let box = try Sandbox()
        let u = box.upper
        try u.mkdir(.tree(p("d")), mode: 0o755)
        try u.symlink(.tree(p("slash")), target: bytes("/"))
        try u.symlink(.tree(p("up")), target: bytes(".."))
        try u.symlink(.tree(p("d/upup")), target: bytes("../../outside"))
        try u.symlink(.tree(p("abs")), target: bytes(box.base + "/outside"))
        try u.symlink(.tree(p("file")), target: bytes(box.base + "/outside/canary"))
        let refused: Set<Errno> = [.ELOOP, .ENOTDIR]
        for link in ["slash", "up/outside", "d/upup", "abs"] {
            let inner = p(link + "/canary")
            #expect(errno { _ = try u.stat(inner) }.map(refused.contains) == true, "\(link)")
            #expect(errno { _ = try u.open(inner, .readOnly) }.map(refused.contains) == true)
            #expect(errno { _ = try u.readDirectory(p(link)) }.map(refused.contains) == true)
            #expect(errno { _ = try u.readDirectory(p(link + "/x")) }.map(refused.contains) == true)
            #expect(errno { _ = try u.create(.tree(p(link + "/new")), flags: .writeOnly, mode: 0o644) }
                .map(refused.contains) == true)
            #expect(errno { try u.mkdir(.tree(p(link + "/newdir")), mode: 0o755) }.map(refused.contains) == true)
            #expect(errno { try u.truncate(.tree(inner), size: 0) }.map(refused.contains) == true)
            #expect(errno { try u.chmod(.tree(inner), mode: 0o777) }.map(refused.contains) == true)
            #expect(errno { try u.unlink(.tree(inner)) }.map(refused.contains) == true)
            #expect(errno { try u.setXattr(.tree(inner), bytes("user.x"), [1], flags: []) }
                .map(refused.contains) == true)
            #expect(errno { _ = try u.getXattr(.tree(inner), bytes("user.x")) }.map(refused.contains) == true)
            #expect(errno { try u.removeTree(.tree(inner)) }.map(refused.contains) == true)
        }
        // The last component as a symlink: acted on itself, never on its target.
        #expect(try u.stat(p("file")).type == .symlink)
        #expect(errno { _ = try u.open(p("file"), .readWrite) } == .ELOOP)
        #expect(errno { _ = try u.readDirectory(p("abs")) }.map(refused.contains) == true)
        #expect(errno { try u.truncate(.tree(p("file")), size: 0) } == .ELOOP)
        #expect(errno { try u.chmod(.tree(p("file")), mode: 0o777) } == .EOPNOTSUPP)
        #expect(errno { _ = try u.create(.tree(p("file")), flags: .writeOnly, mode: 0o644) } == .EEXIST)
        #expect(errno { _ = try u.getXattr(.tree(p("file")), bytes("user.x")) } == .ENODATA)
        try u.chown(.tree(p("file")), uid: 4321, gid: nil)
        try u.setTimes(.tree(p("file")), access: .omit, modification: .set(Timespec(seconds: 5, nanoseconds: 0)))
        #expect(try u.stat(p("file")).uid == 4321)
        try u.removeTree(.tree(p("abs")))
        try u.removeTree(.tree(p("d")))
        #expect(try box.canaryIntact())
        let outsideCanary = try box.outer.stat(.tree(p("outside/canary")))
        #expect(outsideCanary.uid == 0 || outsideCanary.uid == getuid())
        #expect(outsideCanary.mtime.seconds != 5)
        #expect(errno { _ = try box.outer.stat(.tree(p("root/d"))) } == .ENOENT)
    }

    @Test func rootPathSymlinkIsFollowedOnceAtInit() throws {
        let box = try Sandbox()
        try box.outer.symlink(.tree(p("rootlink")), target: bytes("root"))
        try box.upper.mkdir(.tree(p("seen")), mode: 0o700)
        let lower = try PosixLayer(root: box.base + "/rootlink")
        #expect(try lower.readDirectory(.root).map(\.name) == [n("seen")])
        #expect(try lower.stat(.root).isDirectory)
        try box.outer.unlink(.tree(p("rootlink")))
    }

    @Test func createsKeepExactModesAndTypes() throws {
        let box = try Sandbox()
        let u = box.upper
        let f = try u.create(.tree(p("f")), flags: .readWrite, mode: 0o4777)
        #expect(try f.stat().permissions == 0o4777)
        f.close()
        f.close()  // idempotent
        #expect(errno { _ = try f.stat() } == .EBADF)
        #expect(errno { _ = try u.create(.tree(p("f")), flags: .readWrite, mode: 0o644) } == .EEXIST)
        try u.mkdir(.tree(p("dir")), mode: 0o1777)
        #expect(try u.stat(p("dir")).permissions == 0o1777)
        try u.mknod(.tree(p("fifo")), mode: 0o010666, rdev: 0)
        let fifo = try u.stat(p("fifo"))
        #expect(fifo.type == .fifo && fifo.permissions == 0o666)
        #expect(errno { _ = try u.open(p("fifo"), .readOnly) } == .ENXIO)  // and did not block
        #expect(errno { _ = try u.open(p("dir"), .readOnly) } == .EISDIR)
        #expect(errno { _ = try u.open(.root, .readOnly) } == .EISDIR)
        if getuid() == 0 {
            try u.mknod(.tree(p("dir/.wh-like")), mode: 0o020000, rdev: 0)
            #expect(try u.stat(p("dir/.wh-like")).isWhiteoutDevice)
        }
        try u.symlink(.tree(p("dir/ln")), target: bytes("../f"))
        #expect(try u.readLink(p("dir/ln")) == bytes("../f"))
        #expect(errno { _ = try u.readLink(p("f")) } == .EINVAL)
        try u.link(from: .tree(p("f")), to: .tree(p("dir/hard")))
        #expect(try u.stat(p("f")).nlink == 2)
        let names = Set(try u.readDirectory(p("dir")).map { $0.name.description })
        #expect(names.isSuperset(of: ["ln", "hard"]))
        let entries = try u.readDirectory(.root)
        let fEntry = entries.first { $0.name == n("f") }
        #expect(fEntry?.ino == (try u.stat(p("f")).ino))
        #expect(fEntry?.type == .regular || fEntry?.type == .unknown)
        #expect(!entries.contains { $0.name.bytes == [0x2E] })
        try u.unlink(.tree(p("dir/hard")))
        #expect(errno { try u.rmdir(.tree(p("dir"))) } == .ENOTEMPTY)
        #expect(errno { try u.unlink(.tree(p("dir"))) } == .EISDIR)
    }

    @Test func renameFlagsAndWorkToTree() throws {
        let box = try Sandbox()
        let u = box.upper
        try u.mkdir(.tree(p("a")), mode: 0o755)
        try u.mkdir(.tree(p("b")), mode: 0o700)
        let ia = try u.stat(p("a")).ino
        let ib = try u.stat(p("b")).ino
        #expect(errno { try u.rename(from: .tree(p("a")), to: .tree(p("b")), flags: .noReplace) } == .EEXIST)
        try u.rename(from: .tree(p("a")), to: .tree(p("b")), flags: .exchange)
        #expect(try u.stat(p("a")).ino == ib)
        #expect(try u.stat(p("b")).ino == ia)
        let w = try u.create(.work(n("tmp1")), flags: .writeOnly, mode: 0o600)
        _ = try [UInt8]([1, 2, 3]).withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws(Errno) -> Int in
            try w.write(buffer, at: 0)
        }
        w.close()
        #expect(try u.stat(.work(n("tmp1"))).size == 3)
        try u.rename(from: .work(n("tmp1")), to: .tree(p("a/moved")), flags: .noReplace)
        #expect(try u.stat(p("a/moved")).size == 3)
        #expect(errno { _ = try u.stat(.work(n("tmp1"))) } == .ENOENT)
        // A whole tree built in work, then removed.
        try u.mkdir(.work(n("t")), mode: 0o755)
        try u.rename(from: .tree(p("a")), to: .work(n("t")), flags: [])
        try u.removeTree(.work(n("t")))
        #expect(errno { _ = try u.readDirectory(.work(n("t"))) } == .ENOENT)
        #expect(try u.readDirectory(.root).map(\.name) == [n("b")])
    }

    @Test func xattrsOwnersModesTimesTruncate() throws {
        let box = try Sandbox()
        let u = box.upper
        let f = try u.create(.tree(p("f")), flags: .writeOnly, mode: 0o644)
        f.close()
        try u.symlink(.tree(p("s")), target: bytes("f"))
        for place in [Place.tree(p("f")), .tree(.root)] {
            for name in ["user.test", "trusted.overlay.opaque"] where getuid() == 0 || name.hasPrefix("user.") {
                try u.setXattr(place, bytes(name), bytes("y"), flags: .create)
                #expect(errno { try u.setXattr(place, bytes(name), [], flags: .create) } == .EEXIST)
                #expect(try u.getXattr(place, bytes(name)) == bytes("y"))
                let long = [UInt8](repeating: 0x41, count: 3000)
                try u.setXattr(place, bytes(name), long, flags: .replace)
                #expect(try u.getXattr(place, bytes(name)) == long)
                #expect(try u.listXattr(place).contains(bytes(name)))
                try u.removeXattr(place, bytes(name))
                #expect(errno { _ = try u.getXattr(place, bytes(name)) } == .ENODATA)
            }
        }
        if getuid() == 0 {
            try u.setXattr(.tree(p("s")), bytes("trusted.x"), bytes("1"), flags: [])
            #expect(try u.getXattr(.tree(p("s")), bytes("trusted.x")) == bytes("1"))
            #expect(errno { _ = try u.getXattr(.tree(p("f")), bytes("trusted.x")) } == .ENODATA)
            #expect(errno { try u.setXattr(.tree(p("s")), bytes("user.x"), bytes("1"), flags: []) } == .EPERM)
            try u.chown(.tree(p("f")), uid: 1234, gid: 5678)
            try u.chown(.tree(p("f")), uid: nil, gid: 99)
            let st = try u.stat(p("f"))
            #expect(st.uid == 1234 && st.gid == 99)
            try u.chown(.tree(.root), uid: 7, gid: nil)
            #expect(try u.stat(.root).uid == 7)
        }
        try u.chmod(.tree(p("f")), mode: 0o2751)
        #expect(try u.stat(p("f")).permissions == 0o2751)
        try u.chmod(.tree(.root), mode: 0o711)
        #expect(try u.stat(.root).permissions == 0o711)
        let t = Timespec(seconds: 1_234_567_890, nanoseconds: 123_456_789)
        try u.setTimes(.tree(p("f")), access: .set(t), modification: .omit)
        var st = try u.stat(p("f"))
        #expect(st.atime == t && st.mtime != t)
        try u.setTimes(.tree(p("f")), access: .omit, modification: .set(t))
        st = try u.stat(p("f"))
        #expect(st.mtime == t)
        try u.setTimes(.tree(p("f")), access: .now, modification: .omit)
        #expect(try u.stat(p("f")).atime.seconds > t.seconds)
        try u.truncate(.tree(p("f")), size: 12345)
        #expect(try u.stat(p("f")).size == 12345)
        #expect(errno { try u.truncate(.tree(.root), size: 0) } == .EISDIR)
    }

    @Test func sparseSeekAndCopyFileRange() throws {
        let box = try Sandbox()
        let u = box.upper
        let src = try u.create(.tree(p("sparse")), flags: .readWrite, mode: 0o644)
        defer { src.close() }
        #expect(src.descriptor != nil)
        let offset: Int64 = 1 << 20
        let payload = [UInt8](repeating: 0x5A, count: 4096)
        let written = try payload.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws(Errno) -> Int in
            try src.write(b, at: offset)
        }
        #expect(written == 4096)
        try src.truncate(4 << 20)
        if try src.stat().blocks * 512 < 1 << 20 {  // the filesystem keeps holes
            #expect(try src.nextData(from: 0) == offset)
            #expect(try src.nextHole(from: offset) == offset + 4096)
        } else {
            #expect(try src.nextData(from: 0) == 0)
        }
        #expect(try src.nextData(from: 4 << 20) == nil)
        #expect(try src.nextHole(from: 0) <= offset)

        let dst = try u.create(.work(n("copy")), flags: .readWrite, mode: 0o600)
        defer { dst.close() }
        let copied = try src.copy(to: dst, from: offset, to: 10, length: 4096)
        #expect(copied == 4096)
        var back = [UInt8](repeating: 0, count: 4096)
        let read = try back.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws(Errno) -> Int in
            try dst.read(into: b, at: 10)
        }
        #expect(read == 4096 && back == payload)
        #expect(try dst.stat().size == 4106)
        dst.close()
        #expect(dst.descriptor == nil)
    }
}

/// A LayerFile without a kernel descriptor, to check copy() declines it.
final class NoDescriptorFile: LayerFile {
    var descriptor: Int32? { nil }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int { 0 }
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int { buffer.count }
    func stat() throws(Errno) -> FileStat { FileStat() }
    func truncate(_ size: Int64) throws(Errno) {}
    func sync(dataOnly: Bool) throws(Errno) {}
    func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {}
    func nextData(from offset: Int64) throws(Errno) -> Int64? { nil }
    func nextHole(from offset: Int64) throws(Errno) -> Int64 { 0 }
    func copy(to destination: any LayerFile, from: Int64, to: Int64, length: Int) throws(Errno) -> Int? { nil }
    func close() {}
}

@Suite struct PosixFileTests {
    @Test func openClearsTheNonBlockingGuardAndCopyDeclinesForeignFiles() throws {
        let box = try Sandbox()
        let created = try box.upper.create(.tree(p("f")), flags: .readWrite, mode: 0o644)
        created.close()
        let plain = try box.upper.open(p("f"), [.readWrite, .append])
        defer { plain.close() }
        let fd = try #require(plain.descriptor)
        let flags = fcntl(fd, F_GETFL)
        #expect(flags & O_NONBLOCK == 0)
        #expect(flags & O_APPEND != 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        let asked = try box.upper.open(p("f"), [.readOnly, .nonBlocking])
        defer { asked.close() }
        #expect(fcntl(try #require(asked.descriptor), F_GETFL) & O_NONBLOCK != 0)
        #expect(try plain.copy(to: NoDescriptorFile(), from: 0, to: 0, length: 1) == nil)
    }

    @Test func sysPathHelpers() throws {
        let box = try Sandbox()
        try box.outer.symlink(.tree(p("ln")), target: bytes("root"))
        #expect(try realPath(box.base + "/ln") == (try realPath(box.base)) + "/root")
        #expect(isDirectory(box.base + "/ln"))
        #expect(try statPath(box.base + "/ln", followSymlinks: false).type == .symlink)
        try Sys.mkdir(box.base + "/outside/made", mode: 0o700)
        #expect(isDirectory(box.base + "/outside/made"))
        try box.outer.rmdir(.tree(p("outside/made")))
        try box.outer.unlink(.tree(p("ln")))
        #expect(currentUmask() <= 0o777)
        #expect(errnoDescription(.ENOENT) == "No such file or directory")
        #expect(errno { _ = try realPath(box.base + "/missing") } == .ENOENT)
    }
}
