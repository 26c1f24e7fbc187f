import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Seeded generation of a layer stack (2–3 lowers and an upper) in the kernel's on-disk format.
///
/// Every layer draws names from one small pool, so the same path often exists in several layers
/// (file over file, dir over file, merged dirs). Contents: regular files (0 bytes, small, 4 KiB,
/// > 64 KiB, sparse), nested dirs, symlinks (relative, absolute, dangling), hard links within a
/// layer, FIFOs, kernel whiteouts (char 0/0) and opaque dirs (`trusted.overlay.opaque=y`) in the
/// upper and middle layers, `user.*` xattrs, odd modes (setuid/setgid/sticky, 000) and owners.
/// No `.wh.` image whiteouts: the kernel does not read them.
///
/// Symlink targets never climb more than one level (`../NAME`) and absolute ones point below
/// `/nonexistent-difftest`, so no operation that follows a link can reach outside the mount
/// (mount roots sit alone in an otherwise empty directory).
enum LayerGen {
    static let names = ["a", "b", "c", "d", "e", "f"]
    static let owners: [UInt32] = [0, 0, 1000, 1001, 65534]
    static let fileModes: [UInt32] = [0o644, 0o644, 0o600, 0o755, 0o4755, 0o2755, 0o444, 0o000, 0o640, 0o1644]
    static let dirModes: [UInt32] = [0o755, 0o755, 0o700, 0o1777, 0o2775, 0o555, 0o711]
    /// Generated and utimensat timestamps are all before this (2020-01-01); "now" is after it.
    static let oldTimeLimit = 1_577_836_800

    /// Builds the stack under `dir` (`lower0` is the top lower); returns the number of lowers.
    static func build(seed: UInt64, in dir: String) throws -> Int {
        var rng = SeededRandom(seed: seed ^ 0x4C41_5945_5253)
        let lowerCount = 2 + rng.int(2)
        // Bottom first, so the layer below is complete when a layer is filled; the upper last.
        let lowers = (0..<lowerCount).map { "\(dir)/lower\($0)" }
        let order = Array(lowers.reversed()) + [dir + "/upper"]
        for (i, layer) in order.enumerated() {
            try makeDirs(layer)
            chmod(layer, 0o755)
            var files: [String] = []
            // Whiteouts and opaque markers only above the bottom layer.
            try fill(layer, below: i == 0 ? nil : order[i - 1], rel: "", depth: 0, merged: i > 0, rng: &rng, files: &files)
        }
        return lowerCount
    }

    /// Fills `layer/rel`. `merged`: this directory merges with the same directory in the layer
    /// below (every ancestor and itself a real directory there, none opaque here). Whiteouts are
    /// made only in merged directories and opaque markers only where there is a layer below:
    /// the kernel lists a whiteout that sits in a non-merged ("pure") directory in readdir while
    /// lookup says ENOENT, which kernel overlayfs itself never produces.
    private static func fill(
        _ layer: String, below: String?, rel: String, depth: Int, merged: Bool, rng: inout SeededRandom,
        files: inout [String]
    ) throws {
        let count = depth == 0 ? 3 + rng.int(4) : 1 + rng.int(4 - min(depth, 2))
        for _ in 0..<count {
            guard let name = rng.pick(names) else { continue }
            let r = rel.isEmpty ? name : rel + "/" + name
            let p = layer + "/" + r
            var st = stat()
            if lstat(p, &st) == 0 { continue }
            // file, dir, symlink, hard link, whiteout, fifo
            let kind = rng.weighted([40, depth < 3 ? 25 : 0, 12, files.isEmpty ? 0 : 8, merged ? 10 : 0, 3])
            switch kind {
            case 0:
                try makeFile(p, rng: &rng)
                files.append(p)
            case 1:
                guard mkdir(p, 0o755) == 0 else { throw DiffTestError("mkdir \(p): errno \(errno)") }
                let opaque = below != nil && rng.chance(20)
                if opaque {
                    let v: [UInt8] = [UInt8(ascii: "y")]
                    guard lsetxattr(p, "trusted.overlay.opaque", v, 1, 0) == 0 else {
                        throw DiffTestError("set opaque on \(p): errno \(errno)")
                    }
                }
                var bst = stat()
                let belowIsDir = below.map { lstat($0 + "/" + r, &bst) == 0 && (bst.st_mode & S_IFMT) == S_IFDIR } ?? false
                try fill(
                    layer, below: below, rel: r, depth: depth + 1, merged: merged && !opaque && belowIsDir, rng: &rng,
                    files: &files)
                try decorate(p, isDir: true, rng: &rng)
            case 2:
                guard symlink(symlinkTarget(depth: depth, rng: &rng), p) == 0 else {
                    throw DiffTestError("symlink \(p): errno \(errno)")
                }
                try setOwnerAndTime(p, rng: &rng)
            case 3:
                if let target = rng.pick(files), link(target, p) != 0 {
                    throw DiffTestError("link \(p): errno \(errno)")
                }
            case 4:
                guard mknod(p, S_IFCHR | 0o000, __dev_t(clinux_makedev(0, 0))) == 0 else {
                    throw DiffTestError("whiteout \(p): errno \(errno)")
                }
            default:
                guard mknod(p, S_IFIFO | 0o644, 0) == 0 else { throw DiffTestError("mkfifo \(p): errno \(errno)") }
                try decorate(p, isDir: false, rng: &rng)
            }
        }
    }

    static func symlinkTarget(depth: Int, rng: inout SeededRandom) -> String {
        let n = rng.pick(names) ?? "a"
        let m = rng.pick(names) ?? "b"
        switch rng.int(5) {
        case 0: return n
        case 1: return n + "/" + m
        case 2: return depth > 0 ? "../" + n : "./" + n
        case 3: return "/nonexistent-difftest/" + n
        default: return "missing-" + n  // dangling
        }
    }

    private static func makeFile(_ p: String, rng: inout SeededRandom) throws {
        let fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard fd >= 0 else { throw DiffTestError("create \(p): errno \(errno)") }
        defer { close(fd) }
        switch rng.weighted([15, 40, 10, 15, 20]) {
        case 0: break  // empty
        case 1: try writeAll(fd, rng.bytes(1 + rng.int(300)), at: 0)
        case 2: try writeAll(fd, rng.bytes(4096), at: 0)
        case 3: try writeAll(fd, rng.bytes(65_536 + 1 + rng.int(40_000)), at: 0)
        default:  // sparse: a large hole with a few islands of data
            let size = 200_000 + rng.int(300_000)
            guard ftruncate(fd, off_t(size)) == 0 else { throw DiffTestError("ftruncate \(p): errno \(errno)") }
            for _ in 0..<(1 + rng.int(3)) { try writeAll(fd, rng.bytes(1 + rng.int(5000)), at: rng.int(size)) }
        }
        try decorate(p, isDir: false, rng: &rng)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset + done)) }
            guard n > 0 else { throw DiffTestError("pwrite: errno \(errno)") }
            done += n
        }
    }

    /// Owner, then mode (chown clears setuid), xattrs, times.
    private static func decorate(_ p: String, isDir: Bool, rng: inout SeededRandom) throws {
        guard lchown(p, rng.pick(owners) ?? 0, rng.pick(owners) ?? 0) == 0 else {
            throw DiffTestError("chown \(p): errno \(errno)")
        }
        guard chmod(p, rng.pick(isDir ? dirModes : fileModes) ?? 0o644) == 0 else {
            throw DiffTestError("chmod \(p): errno \(errno)")
        }
        var st = stat()
        if lstat(p, &st) == 0, (st.st_mode & S_IFMT) != S_IFIFO {  // user.* is refused on FIFOs
            for key in ["user.k1", "user.k2", "user.big"] where rng.chance(25) {
                let v = key == "user.big" ? rng.bytes(200 + rng.int(2000)) : rng.bytes(rng.int(20))
                guard lsetxattr(p, key, v, v.count, 0) == 0 else { throw DiffTestError("setxattr \(p): errno \(errno)") }
            }
        }
        try setTime(p, rng: &rng)
    }

    private static func setOwnerAndTime(_ p: String, rng: inout SeededRandom) throws {
        guard lchown(p, rng.pick(owners) ?? 0, rng.pick(owners) ?? 0) == 0 else {
            throw DiffTestError("lchown \(p): errno \(errno)")
        }
        try setTime(p, rng: &rng)
    }

    private static func setTime(_ p: String, rng: inout SeededRandom) throws {
        let t = oldTime(&rng)
        var ts = [t, t]
        guard utimensat(AT_FDCWD, p, &ts, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw DiffTestError("utimensat \(p): errno \(errno)")
        }
    }

    static func oldTime(_ rng: inout SeededRandom) -> timespec {
        timespec(tv_sec: 946_684_800 + rng.int(600_000_000), tv_nsec: rng.int(1_000_000_000))
    }
}
