import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One filesystem operation, applied to the same relative path(s) under both mount roots.
/// Every case prints as a Swift literal (`swiftLiteral`) so a shrunk failing sequence can be
/// pasted into a regression test as is.
public enum DiffOp: Equatable, Sendable {
    case create(String, mode: UInt32)
    case write(String, offset: Int, length: Int, byte: UInt8)
    case truncate(String, size: Int)
    case chmod(String, mode: UInt32)
    case chown(String, uid: UInt32, gid: UInt32)
    case utimens(String, sec: Int, nsec: Int)
    case setxattr(String, name: String, value: String)
    case removexattr(String, name: String)
    case mkdir(String, mode: UInt32)
    case rmdir(String)
    case unlink(String)
    case link(String, String)
    case symlink(target: String, String)
    case mkfifo(String, mode: UInt32)
    /// flags: 0, 1 = RENAME_NOREPLACE, 2 = RENAME_EXCHANGE.
    case rename(String, String, flags: UInt32)
    case openUnlinkRead(String)
    case readdir(String)

    /// The operation's name, with the rename flag (for coverage counts).
    public var kind: String {
        switch self {
        case .rename(_, _, let f): return f == 0 ? "rename" : f == 1 ? "rename-noreplace" : "rename-exchange"
        default:
            let l = swiftLiteral
            return String(l.dropFirst().prefix(while: { $0 != "(" }))
        }
    }

    public var swiftLiteral: String {
        func q(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func o(_ m: UInt32) -> String { "0o" + String(m, radix: 8) }
        switch self {
        case .create(let p, let m): return ".create(\(q(p)), mode: \(o(m)))"
        case .write(let p, let off, let len, let b): return ".write(\(q(p)), offset: \(off), length: \(len), byte: \(b))"
        case .truncate(let p, let s): return ".truncate(\(q(p)), size: \(s))"
        case .chmod(let p, let m): return ".chmod(\(q(p)), mode: \(o(m)))"
        case .chown(let p, let u, let g): return ".chown(\(q(p)), uid: \(u), gid: \(g))"
        case .utimens(let p, let s, let n): return ".utimens(\(q(p)), sec: \(s), nsec: \(n))"
        case .setxattr(let p, let n, let v): return ".setxattr(\(q(p)), name: \(q(n)), value: \(q(v)))"
        case .removexattr(let p, let n): return ".removexattr(\(q(p)), name: \(q(n)))"
        case .mkdir(let p, let m): return ".mkdir(\(q(p)), mode: \(o(m)))"
        case .rmdir(let p): return ".rmdir(\(q(p)))"
        case .unlink(let p): return ".unlink(\(q(p)))"
        case .link(let a, let b): return ".link(\(q(a)), \(q(b)))"
        case .symlink(let t, let p): return ".symlink(target: \(q(t)), \(q(p)))"
        case .mkfifo(let p, let m): return ".mkfifo(\(q(p)), mode: \(o(m)))"
        case .rename(let a, let b, let f): return ".rename(\(q(a)), \(q(b)), flags: \(f))"
        case .openUnlinkRead(let p): return ".openUnlinkRead(\(q(p)))"
        case .readdir(let p): return ".readdir(\(q(p)))"
        }
    }
}

extension DiffOp {
    /// A random operation over the paths visible now (`existing`, from the oracle's tree, "" is
    /// the root) or new names next to them.
    static func random(existing: [String], dirs: [String], rng: inout SeededRandom) -> DiffOp {
        func newName() -> String {
            let d = rng.pick(dirs) ?? ""
            let n = rng.pick(LayerGen.names + ["g", "h"]) ?? "g"
            return d.isEmpty ? n : d + "/" + n
        }
        // Mostly existing names, sometimes a name that may not exist (also through a missing dir).
        func anyPath() -> String {
            if existing.isEmpty || rng.chance(25) { return newName() }
            return rng.pick(existing) ?? ""
        }
        func mode() -> UInt32 { rng.pick([0o644, 0o600, 0o755, 0o4755, 0o2711, 0o1777, 0o000, 0o444]) ?? 0o644 }
        func xname() -> String { rng.pick(["user.k1", "user.k2", "user.new", "user.big"]) ?? "user.k1" }
        switch rng.weighted([8, 14, 8, 6, 5, 5, 6, 4, 6, 4, 7, 4, 4, 2, 12, 3, 4]) {
        case 0: return .create(newName(), mode: mode())
        case 1:
            let offset = rng.pick([0, rng.int(5000), 4096, 65_536, 200_000 + rng.int(300_000)]) ?? 0
            let length = rng.pick([1, rng.int(300), 4096, 70_000]) ?? 1
            return .write(anyPath(), offset: offset, length: length, byte: UInt8(rng.int(256)))
        case 2: return .truncate(anyPath(), size: rng.pick([0, rng.int(500), 4096, 70_000, 300_000]) ?? 0)
        case 3: return .chmod(anyPath(), mode: mode())
        case 4:
            return .chown(anyPath(), uid: rng.pick(LayerGen.owners) ?? 0, gid: rng.pick(LayerGen.owners) ?? 0)
        case 5:
            let t = LayerGen.oldTime(&rng)
            return .utimens(anyPath(), sec: t.tv_sec, nsec: t.tv_nsec)
        case 6:
            return .setxattr(anyPath(), name: xname(), value: rng.pick(["", "v", "value-\(rng.int(100))"]) ?? "")
        case 7: return .removexattr(anyPath(), name: xname())
        case 8: return .mkdir(rng.chance(50) ? newName() : anyPath(), mode: rng.pick(LayerGen.dirModes) ?? 0o755)
        case 9: return .rmdir(rng.chance(70) ? (rng.pick(dirs.filter { !$0.isEmpty }) ?? anyPath()) : anyPath())
        case 10: return .unlink(anyPath())
        case 11: return .link(anyPath(), rng.chance(80) ? newName() : anyPath())
        case 12:
            return .symlink(target: LayerGen.symlinkTarget(depth: 1, rng: &rng), rng.chance(80) ? newName() : anyPath())
        case 13: return .mkfifo(newName(), mode: 0o644)
        case 14:
            let flags: UInt32 = rng.pick([0, 0, 1, 2]) ?? 0
            return .rename(anyPath(), rng.chance(50) ? newName() : anyPath(), flags: flags)
        case 15: return .openUnlinkRead(anyPath())
        default: return .readdir(rng.chance(70) ? (rng.pick(dirs) ?? "") : anyPath())
        }
    }

    /// Applies the operation under `root`; the result is "ok …" or the errno's name. Files are
    /// opened with O_NONBLOCK so a FIFO never blocks (writing to one without a reader is ENXIO).
    func apply(root: String) -> String {
        func p(_ rel: String) -> String { rel.isEmpty ? root : root + "/" + rel }
        func res(_ rc: Int32) -> String { rc == 0 ? "ok" : errnoName(errno) }
        switch self {
        case .create(let rel, let m):
            let fd = open(p(rel), O_CREAT | O_EXCL | O_WRONLY, m)
            guard fd >= 0 else { return errnoName(errno) }
            return res(close(fd))
        case .write(let rel, let off, let len, let byte):
            let fd = open(p(rel), O_WRONLY | O_NONBLOCK)
            guard fd >= 0 else { return errnoName(errno) }
            defer { close(fd) }
            let buf = [UInt8](repeating: byte, count: len)
            let n = buf.withUnsafeBytes { pwrite(fd, $0.baseAddress, len, off_t(off)) }
            return n < 0 ? errnoName(errno) : "ok \(n)"
        case .truncate(let rel, let size): return res(Glibc.truncate(p(rel), off_t(size)))
        case .chmod(let rel, let m): return res(Glibc.chmod(p(rel), m))
        case .chown(let rel, let u, let g): return res(lchown(p(rel), u, g))
        case .utimens(let rel, let s, let n):
            var ts = [timespec(tv_sec: s, tv_nsec: n), timespec(tv_sec: s, tv_nsec: n)]
            return res(utimensat(AT_FDCWD, p(rel), &ts, AT_SYMLINK_NOFOLLOW))
        case .setxattr(let rel, let name, let value):
            let v = Array(value.utf8)
            return res(lsetxattr(p(rel), name, v, v.count, 0))
        case .removexattr(let rel, let name): return res(lremovexattr(p(rel), name))
        case .mkdir(let rel, let m): return res(Glibc.mkdir(p(rel), m))
        case .rmdir(let rel): return res(Glibc.rmdir(p(rel)))
        case .unlink(let rel): return res(Glibc.unlink(p(rel)))
        case .link(let a, let b): return res(Glibc.link(p(a), p(b)))
        case .symlink(let t, let rel): return res(Glibc.symlink(t, p(rel)))
        case .mkfifo(let rel, let m): return res(mknod(p(rel), S_IFIFO | m, 0))
        case .rename(let a, let b, let f): return res(renameat2(AT_FDCWD, p(a), AT_FDCWD, p(b), f))
        case .openUnlinkRead(let rel):
            let fd = open(p(rel), O_RDONLY | O_NONBLOCK)
            guard fd >= 0 else { return errnoName(errno) }
            defer { close(fd) }
            let u = res(Glibc.unlink(p(rel)))
            var st = stat()
            let size = fstat(fd, &st) == 0 ? Int(st.st_size) : -1
            guard let content = readAll(fd) else { return "unlink \(u), read \(errnoName(errno))" }
            return "unlink \(u), fstat size \(size), read \(content.count) bytes hash \(fnv(content))"
        case .readdir(let rel):
            guard let d = opendir(p(rel)) else { return errnoName(errno) }
            defer { closedir(d) }
            var names: [String] = []
            while let e = Glibc.readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                names.append(name)
            }
            return "ok " + names.sorted().joined(separator: ",")
        }
    }
}

func readAll(_ fd: Int32) -> [UInt8]? {
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65_536)
    var off = 0
    while true {
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(off)) }
        if n < 0 {
            if errno == EAGAIN { return out }  // a FIFO opened O_NONBLOCK
            return nil
        }
        if n == 0 { return out }
        out.append(contentsOf: buf[0..<n])
        off += n
    }
}

func fnv(_ bytes: [UInt8]) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(h, radix: 16)
}

func errnoName(_ e: Int32) -> String {
    let known: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EIO: "EIO", ENXIO: "ENXIO", EBADF: "EBADF", EACCES: "EACCES",
        EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", EFBIG: "EFBIG", ENOSPC: "ENOSPC", EMLINK: "EMLINK", ENAMETOOLONG: "ENAMETOOLONG",
        ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", ENODATA: "ENODATA", EOPNOTSUPP: "EOPNOTSUPP",
        ESPIPE: "ESPIPE", ETXTBSY: "ETXTBSY", ENOTCONN: "ENOTCONN", ESTALE: "ESTALE", ERANGE: "ERANGE",
        EAGAIN: "EAGAIN", ENOSYS: "ENOSYS",
    ]
    return known[e] ?? "errno \(e)"
}
