import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The comparable view of a mounted tree: one line per path, sorted by path.
///
/// Compared for every path: type, permission bits (07777), uid, gid, nlink, mtime (under the
/// rule below), `user.*` xattrs (sorted names with hex values). Non-directories also: size,
/// content hash (regular files, read in full), symlink target.
///
/// Excluded on purpose:
/// - st_ino / st_dev: each mount has its own device, and FUSE inode numbers are per mount.
/// - directory st_size: the real upper (or top) directory's size, an ext4 allocation detail that
///   depends on the order entries were created and removed in it, not overlay semantics.
/// - atime (noatime vs relatime; reading changes it) and ctime (not settable: copy-up, chmod,
///   chown set it to "now", at a different instant on each side).
/// - mtime when it was set to "now" on both sides (create/write/truncate/rename run a few
///   milliseconds apart on the two mounts). Every timestamp the generator or a `utimens` op sets
///   is before 2020 (`LayerGen.oldTimeLimit`), so the rule is: if either side shows a time before
///   2020 both must show the same time to the nanosecond; times after it on both sides are "now"
///   and compare equal. This keeps copy-up's preservation of file and parent-directory mtimes,
///   and utimensat, exact.
/// Directory nlink is compared: kernel overlayfs reports 1 for a merged directory and the real
/// count for a pure one, and shiftoverlay matches that exactly (31 seeds x 300 ops checked).
struct TreeSnapshot: Equatable {
    var lines: [String]
    /// Relative paths of everything visible ("" is the root), and of the directories.
    var paths: [String]
    var dirs: [String]

    init(root: String) {
        var out: [(String, String)] = []
        var paths: [String] = []
        var dirs: [String] = [""]
        TreeSnapshot.walk(root: root, rel: "", out: &out, paths: &paths, dirs: &dirs)
        lines = out.sorted { $0.0 < $1.0 }.map { $0.1 }
        self.paths = paths.sorted()
        self.dirs = dirs.sorted()
    }

    private static func walk(
        root: String, rel: String, out: inout [(String, String)], paths: inout [String], dirs: inout [String]
    ) {
        let full = rel.isEmpty ? root : root + "/" + rel
        out.append((rel, describe(full, rel: rel)))
        var st = stat()
        guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
        guard let d = opendir(full) else {
            out.append((rel + "/", "\(rel)/ opendir \(errnoName(errno))"))
            return
        }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
        for name in names.sorted() {
            let r = rel.isEmpty ? name : rel + "/" + name
            paths.append(r)
            var cst = stat()
            if lstat(root + "/" + r, &cst) == 0, (cst.st_mode & S_IFMT) == S_IFDIR { dirs.append(r) }
            walk(root: root, rel: r, out: &out, paths: &paths, dirs: &dirs)
        }
    }

    static func describe(_ full: String, rel: String) -> String {
        let shown = rel.isEmpty ? "." : rel
        var st = stat()
        guard lstat(full, &st) == 0 else { return "\(shown) lstat \(errnoName(errno))" }
        let fmt = st.st_mode & S_IFMT
        let type: String
        switch fmt {
        case S_IFDIR: type = "d"
        case S_IFREG: type = "f"
        case S_IFLNK: type = "l"
        case S_IFIFO: type = "p"
        case S_IFCHR: type = "c"
        case S_IFBLK: type = "b"
        default: type = "?"
        }
        var s = "\(shown) \(type) \(String(st.st_mode & 0o7777, radix: 8)) \(st.st_uid):\(st.st_gid)"
        if fmt == S_IFDIR {
            let mt = Int(st.st_mtim.tv_sec)
            let mtime = mt < LayerGen.oldTimeLimit ? "\(mt).\(st.st_mtim.tv_nsec)" : "now"
            s += " nlink=\(st.st_nlink) mtime=\(mtime)"
        }
        if fmt != S_IFDIR {
            let mt = Int(st.st_mtim.tv_sec)
            let mtime = mt < LayerGen.oldTimeLimit ? "\(mt).\(st.st_mtim.tv_nsec)" : "now"
            s += " size=\(st.st_size) nlink=\(st.st_nlink) mtime=\(mtime)"
        }
        if fmt == S_IFREG {
            let fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
            if fd < 0 {
                s += " open=\(errnoName(errno))"
            } else {
                s += readAll(fd).map { " hash=\(fnv($0)) read=\($0.count)" } ?? " read=\(errnoName(errno))"
                close(fd)
            }
        }
        if fmt == S_IFLNK {
            var buf = [CChar](repeating: 0, count: 4097)
            let n = readlink(full, &buf, 4096)
            s += n >= 0 ? " -> " + String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : " readlink=\(errno)"
        }
        s += " xattrs{" + userXattrs(full).joined(separator: ",") + "}"
        return s
    }

    /// Sorted `user.*` names with hex values; a listing error is shown as such.
    static func userXattrs(_ path: String) -> [String] {
        let n = llistxattr(path, nil, 0)
        guard n >= 0 else { return ["list:\(errnoName(errno))"] }
        guard n > 0 else { return [] }
        var buf = [CChar](repeating: 0, count: n)
        let m = llistxattr(path, &buf, n)
        guard m >= 0 else { return ["list:\(errnoName(errno))"] }
        let names = buf[0..<m].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return names.filter { $0.hasPrefix("user.") }.sorted().map { name in
            let len = lgetxattr(path, name, nil, 0)
            guard len >= 0 else { return "\(name)=<\(errnoName(errno))>" }
            var v = [UInt8](repeating: 0, count: max(len, 1))
            let got = lgetxattr(path, name, &v, len)
            guard got >= 0 else { return "\(name)=<\(errnoName(errno))>" }
            return "\(name)=" + v[0..<got].map { String(format: "%02x", $0) }.joined()
        }
    }

    /// The lines only on one side, for the report.
    func diff(_ other: TreeSnapshot, left: String, right: String) -> String {
        let a = Set(lines)
        let b = Set(other.lines)
        let onlyA = lines.filter { !b.contains($0) }.prefix(15)
        let onlyB = other.lines.filter { !a.contains($0) }.prefix(15)
        return "  only \(left):\n    " + onlyA.joined(separator: "\n    ") + "\n  only \(right):\n    "
            + onlyB.joined(separator: "\n    ")
    }
}
