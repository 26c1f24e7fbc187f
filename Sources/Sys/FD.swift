import CLinux
import Glibc
import LayerAPI

/// A raw descriptor number with typed syscall wrappers. It does not own the descriptor: whoever
/// opened it closes it (see `FileDescriptor` for an owning, close-once box).
public struct FD: Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// AT_FDCWD: relative paths resolve against the current directory.
    public static let currentDirectory = FD(rawValue: AT_FDCWD)

    /// close(2). Errors are ignored (the descriptor is gone either way on Linux; no EINTR retry).
    public func close() { _ = Glibc.close(rawValue) }
}

/// Flag constants for the wrappers, so callers need not import Glibc.
public enum SysFlags {
    public static let readOnly: Int32 = O_RDONLY
    public static let writeOnly: Int32 = O_WRONLY
    public static let readWrite: Int32 = O_RDWR
    public static let create: Int32 = O_CREAT
    public static let exclusive: Int32 = O_EXCL
    public static let truncate: Int32 = O_TRUNC
    public static let nonBlocking: Int32 = O_NONBLOCK
    public static let directory: Int32 = O_DIRECTORY
    public static let noFollow: Int32 = O_NOFOLLOW
    public static let closeOnExec: Int32 = O_CLOEXEC
    public static let path: Int32 = O_PATH
    /// O_TMPFILE (with its O_DIRECTORY part).
    public static let tmpFile: Int32 = O_TMPFILE
    /// O_TMPFILE without its O_DIRECTORY part (__O_TMPFILE).
    public static let tmpFileOnly: Int32 = O_TMPFILE & ~O_DIRECTORY

    public static let atSymlinkNoFollow: Int32 = AT_SYMLINK_NOFOLLOW
    public static let atRemoveDir: Int32 = AT_REMOVEDIR
    public static let atEmptyPath: Int32 = AT_EMPTY_PATH
}

/// openat2(2) RESOLVE_* flags.
public struct ResolveFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let noXDev = ResolveFlags(rawValue: UInt64(RESOLVE_NO_XDEV))
    public static let noMagicLinks = ResolveFlags(rawValue: UInt64(RESOLVE_NO_MAGICLINKS))
    public static let noSymlinks = ResolveFlags(rawValue: UInt64(RESOLVE_NO_SYMLINKS))
    public static let beneath = ResolveFlags(rawValue: UInt64(RESOLVE_BENEATH))
    public static let inRoot = ResolveFlags(rawValue: UInt64(RESOLVE_IN_ROOT))
    /// Beneath the directory, following no symlink and no magic link anywhere.
    public static let confined: ResolveFlags = [.beneath, .noSymlinks, .noMagicLinks]
}

extension FD {
    /// open(2) of a path (relative to the current directory or absolute). Follows symlinks.
    public static func open(_ path: String, flags: Int32, mode: UInt32 = 0) throws(Errno) -> FD {
        let fd = try retryingOnEINTR { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FD(rawValue: fd)
    }

    /// openat(2) relative to this directory. O_CLOEXEC is always added.
    public func openAt(_ path: [UInt8], flags: Int32, mode: UInt32 = 0) throws(Errno) -> FD {
        let dirfd = rawValue
        let fd = try withCString(path) { (p) throws(Errno) -> Int32 in
            try retryingOnEINTR { Glibc.openat(dirfd, p, flags | O_CLOEXEC, mode) }
        }
        return FD(rawValue: fd)
    }

    /// openat2(2) relative to this directory with `resolve` restrictions. O_CLOEXEC is always added.
    public func openAt2(_ path: [UInt8], flags: Int32, mode: UInt32 = 0, resolve: ResolveFlags) throws(Errno) -> FD {
        let dirfd = rawValue
        let fd = try withCString(path) { (p) throws(Errno) -> Int32 in
            try retryingOnEINTR {
                clinux_openat2(
                    dirfd, p, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolve.rawValue)
            }
        }
        return FD(rawValue: fd)
    }

    /// fcntl(F_GETFL).
    public func statusFlags() throws(Errno) -> Int32 {
        let fd = rawValue
        return try retryingOnEINTR { fcntl(fd, F_GETFL) }
    }

    /// fcntl(F_SETFL).
    public func setStatusFlags(_ flags: Int32) throws(Errno) {
        let fd = rawValue
        try checked { fcntl(fd, F_SETFL, flags) }
    }
}
