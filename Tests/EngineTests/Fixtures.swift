import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Builds layer trees and drives the engine by path, so tests read like shell sessions.
struct Fixture {
    let lowers: [MemoryLayer]
    let upper: MemoryLayer?
    let fs: OverlayFS

    init(
        lowers count: Int = 1, upper hasUpper: Bool = true, options: EngineOptions = EngineOptions(),
        build: (Fixture.Builder) throws -> Void = { _ in }
    ) throws {
        let lowers = (0..<count).map { _ in MemoryLayer() }
        let upper = hasUpper ? MemoryLayer() : nil
        try build(Builder(lowers: lowers, upper: upper))
        self.lowers = lowers
        self.upper = upper
        self.fs = try OverlayFS(lowers: lowers, upper: upper, options: options)
    }

    struct Builder {
        let lowers: [MemoryLayer]
        let upper: MemoryLayer?
    }

    static let user = Caller(uid: 1000, gid: 1000)

    /// Walks `path` with lookups (as the kernel does), returning the node.
    @discardableResult
    func node(_ path: String) throws -> NodeID {
        var cur: NodeID = 1
        guard let rel = RelPath(parsing: path) else { throw Errno.EINVAL }
        for c in rel.components { cur = try fs.lookup(parent: cur, name: c).node }
        return cur
    }

    func parentAndName(_ path: String) throws -> (NodeID, Name) {
        guard let rel = RelPath(parsing: path), let last = rel.last else { throw Errno.EINVAL }
        return (try node(rel.parent.description == "." ? "" : rel.parent.description), last)
    }

    func stat(_ path: String) throws -> FileStat { try fs.getattr(try node(path)) }

    /// The errno `body` fails with, nil if it succeeds (any other error is a test failure).
    func errno<T>(_ body: () throws -> T) -> Errno? {
        do { _ = try body() } catch let e as Errno { return e } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
        return nil
    }

    func list(_ path: String) throws -> [String] {
        let h = try node(path)
        return try fs.readdir(node: h, from: 0).map { String(decoding: $0.name, as: UTF8.self) }.filter { $0 != "." && $0 != ".." }
            .sorted()
    }

    func read(_ path: String) throws -> String {
        let h = try fs.open(try node(path), flags: .readOnly, caller: .root)
        defer { fs.release(h) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        var off: Int64 = 0
        while true {
            let n = try buf.withUnsafeMutableBytes { (b) throws -> Int in try fs.read(h, into: b, at: off) }
            if n == 0 { break }
            out += buf[0..<n]
            off += Int64(n)
        }
        return String(decoding: out, as: UTF8.self)
    }

    func write(_ path: String, _ text: String, at offset: Int64 = 0, flags: OpenFlags = .writeOnly) throws {
        let h = try fs.open(try node(path), flags: flags, caller: .root)
        defer { fs.release(h) }
        let bytes = Array(text.utf8)
        _ = try bytes.withUnsafeBytes { (b) throws -> Int in try fs.write(h, b, at: offset) }
    }

    func create(_ path: String, _ text: String = "", mode: UInt32 = 0o644, caller: Caller = .root) throws {
        let (p, n) = try parentAndName(path)
        let (_, h) = try fs.create(parent: p, name: n, mode: mode, flags: .writeOnly, caller: caller)
        defer { fs.release(h) }
        let bytes = Array(text.utf8)
        _ = try bytes.withUnsafeBytes { (b) throws -> Int in try fs.write(h, b, at: 0) }
    }

    func mkdir(_ path: String, mode: UInt32 = 0o755, caller: Caller = .root) throws {
        let (p, n) = try parentAndName(path)
        _ = try fs.mkdir(parent: p, name: n, mode: mode, caller: caller)
    }

    func unlink(_ path: String) throws {
        let (p, n) = try parentAndName(path)
        try fs.unlink(parent: p, name: n)
    }

    func rmdir(_ path: String) throws {
        let (p, n) = try parentAndName(path)
        try fs.rmdir(parent: p, name: n)
    }

    func rename(_ from: String, _ to: String, flags: RenameFlags = []) throws {
        let (p1, n1) = try parentAndName(from)
        let (p2, n2) = try parentAndName(to)
        try fs.rename(parent: p1, name: n1, newParent: p2, newName: n2, flags: flags)
    }
}

extension RelPath {
    init(_ s: String) { self = RelPath(parsing: s) ?? .root }
}

extension Fixture.Builder {
    /// Writes a file (creating parent directories) into `layer`.
    func file(_ layer: MemoryLayer, _ path: String, _ text: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0) throws {
        let rel = RelPath(path)
        try dirs(layer, rel.parent.isRoot ? "" : rel.parent.description)
        let f = try layer.create(.tree(rel), flags: .readWrite, mode: mode)
        let bytes = Array(text.utf8)
        _ = try bytes.withUnsafeBytes { (b) throws -> Int in try f.write(b, at: 0) }
        f.close()
        try layer.chown(.tree(rel), uid: uid, gid: gid)
        try layer.chmod(.tree(rel), mode: mode)  // chown cleared any setuid bit
    }

    /// mkdir -p in `layer`.
    func dirs(_ layer: MemoryLayer, _ path: String, mode: UInt32 = 0o755) throws {
        var cur = RelPath.root
        for c in RelPath(path).components {
            cur = cur.appending(c)
            if (try? layer.stat(.tree(cur))) == nil { try layer.mkdir(.tree(cur), mode: mode) }
        }
    }

    func whiteout(_ layer: MemoryLayer, _ path: String) throws {
        let rel = RelPath(path)
        try dirs(layer, rel.parent.isRoot ? "" : rel.parent.description)
        try layer.mknod(.tree(RelPath(path)), mode: FileType.characterDevice.modeBits, rdev: 0)
    }

    func opaque(_ layer: MemoryLayer, _ path: String, xattr: String = "trusted.overlay.opaque") throws {
        try layer.setXattr(.tree(RelPath(path)), Array(xattr.utf8), Array("y".utf8), flags: [])
    }
}
