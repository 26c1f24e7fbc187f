import CLinux
import Glibc
import LayerAPI

/// The *at() calls that create, remove, rename or change one object named relative to a
/// directory descriptor. None of them follows a symlink in `name` unless a flag says so.
extension FD {
    /// readlinkat(2): the symlink's target bytes.
    public func readLinkAt(_ name: [UInt8]) throws(Errno) -> [UInt8] {
        let fd = rawValue
        var capacity = 256
        while true {
            let target = try withCString(name) { (p) throws(Errno) -> [UInt8]? in
                let cap = capacity
                var result: [UInt8]? = nil
                var failure: Errno? = nil
                withUnsafeTemporaryAllocation(of: CChar.self, capacity: cap) { buffer in
                    guard let base = buffer.baseAddress else { return }
                    do throws(Errno) {
                        let n = try retryingOnEINTR { readlinkat(fd, p, base, cap) }
                        if n < cap {
                            result = UnsafeRawBufferPointer(start: base, count: n).map { $0 }
                        }
                    } catch {
                        failure = error
                    }
                }
                if let failure { throw failure }
                return result
            }
            if let target { return target }
            if capacity >= 1 << 20 { throw .ENAMETOOLONG }
            capacity *= 16
        }
    }

    /// mkdirat(2). The process umask applies.
    public func mkdirAt(_ name: [UInt8], mode: UInt32) throws(Errno) {
        let fd = rawValue
        try withCString(name) { (p) throws(Errno) in try checked { mkdirat(fd, p, mode) } }
    }

    /// mknodat(2); `mode` includes S_IFMT. The process umask applies.
    public func mknodAt(_ name: [UInt8], mode: UInt32, device: UInt64) throws(Errno) {
        let fd = rawValue
        try withCString(name) { (p) throws(Errno) in
            try checked { mknodat(fd, p, mode, dev_t(device)) }
        }
    }

    /// symlinkat(2): creates `name` pointing to `target`.
    public func symlinkAt(_ name: [UInt8], target: [UInt8]) throws(Errno) {
        let fd = rawValue
        try withCStrings(target, name) { (t, p) throws(Errno) in try checked { symlinkat(t, fd, p) } }
    }

    /// linkat(2) from `name` here to `newName` in `newDirectory`. `flags` 0 links a symlink itself.
    public func linkAt(_ name: [UInt8], to newDirectory: FD, _ newName: [UInt8], flags: Int32 = 0) throws(Errno) {
        let fd = rawValue
        let newfd = newDirectory.rawValue
        try withCStrings(name, newName) { (a, b) throws(Errno) in try checked { linkat(fd, a, newfd, b, flags) } }
    }

    /// Names this open file (one made with O_TMPFILE) `newName` in `newDirectory`: linkat(2) of
    /// /proc/self/fd/N, which any owner of the descriptor may do, or with AT_EMPTY_PATH (which
    /// needs CAP_DAC_READ_SEARCH) where /proc is not mounted.
    public func linkOpenFile(to newDirectory: FD, _ newName: [UInt8]) throws(Errno) {
        do {
            try FD(rawValue: AT_FDCWD).linkAt(Array("/proc/self/fd/\(rawValue)".utf8), to: newDirectory, newName,
                flags: AT_SYMLINK_FOLLOW)
        } catch {
            guard error == .ENOENT, access("/proc/self/fd", F_OK) != 0 else { throw error }
            try linkAt([], to: newDirectory, newName, flags: AT_EMPTY_PATH)
        }
    }

    /// unlinkat(2); `SysFlags.atRemoveDir` for rmdir.
    public func unlinkAt(_ name: [UInt8], flags: Int32) throws(Errno) {
        let fd = rawValue
        try withCString(name) { (p) throws(Errno) in try checked { unlinkat(fd, p, flags) } }
    }

    /// renameat2(2) with RENAME_* flags.
    public func renameAt(_ name: [UInt8], to newDirectory: FD, _ newName: [UInt8], flags: UInt32) throws(Errno) {
        let fd = rawValue
        let newfd = newDirectory.rawValue
        try withCStrings(name, newName) { (a, b) throws(Errno) in
            try checked { renameat2(fd, a, newfd, b, flags) }
        }
    }

    /// fchmodat(2) with AT_SYMLINK_NOFOLLOW: glibc resolves `name` once to an O_PATH descriptor
    /// and fails with EOPNOTSUPP on a symlink, so the call never follows one.
    public func chmodAt(_ name: [UInt8], mode: UInt32) throws(Errno) {
        let fd = rawValue
        try withCString(name) { (p) throws(Errno) in
            try checked { fchmodat(fd, p, mode, AT_SYMLINK_NOFOLLOW) }
        }
    }

    /// fchmod(2) of this descriptor (not O_PATH).
    public func chmod(mode: UInt32) throws(Errno) {
        let fd = rawValue
        try checked { fchmod(fd, mode) }
    }

    /// fchownat(2); nil keeps an id. `flags` usually AT_SYMLINK_NOFOLLOW, or AT_EMPTY_PATH with an
    /// empty name to act on this descriptor itself.
    public func chownAt(_ name: [UInt8], uid: UInt32?, gid: UInt32?, flags: Int32) throws(Errno) {
        let fd = rawValue
        let u = uid ?? UInt32.max
        let g = gid ?? UInt32.max
        try withCString(name) { (p) throws(Errno) in try checked { fchownat(fd, p, u, g, flags) } }
    }

    /// utimensat(2) of `name` with AT_SYMLINK_NOFOLLOW, or futimens(2) of this descriptor when
    /// `name` is nil.
    public func setTimesAt(_ name: [UInt8]?, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        let fd = rawValue
        var times = (timespecValue(access), timespecValue(modification))
        try withUnsafePointer(to: &times) { (tuple) throws(Errno) in
            try tuple.withMemoryRebound(to: timespec.self, capacity: 2) { (ts) throws(Errno) in
                if let name {
                    try withCString(name) { (p) throws(Errno) in
                        try checked { utimensat(fd, p, ts, AT_SYMLINK_NOFOLLOW) }
                    }
                } else {
                    try checked { futimens(fd, ts) }
                }
            }
        }
    }
}

/// The `timespec` utimensat takes for one TimeUpdate.
func timespecValue(_ update: TimeUpdate) -> timespec {
    switch update {
    case .omit: return timespec(tv_sec: 0, tv_nsec: clinux_UTIME_OMIT)
    case .now: return timespec(tv_sec: 0, tv_nsec: clinux_UTIME_NOW)
    case .set(let t): return timespec(tv_sec: Int(t.seconds), tv_nsec: Int(t.nanoseconds))
    }
}
