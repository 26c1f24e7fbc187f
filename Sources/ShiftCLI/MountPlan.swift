import FuseAdapter
import OverlayEngine

/// A start-up error: printed as `shiftoverlay: message`, exit status 1, nothing mounted.
public struct CLIError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the parser needs to know about the host; injected so parsing stays pure and testable.
public struct HostFacts: Sendable, Equatable {
    /// Relative paths are resolved against this (the daemon's cwd becomes / after it forks).
    public var cwd: String
    /// Running as uid 0: adds allow_other and suid like fuse-overlayfs does.
    public var isRoot: Bool
    public var overflowUID: UInt32
    public var overflowGID: UInt32

    public init(cwd: String, isRoot: Bool, overflowUID: UInt32 = 65534, overflowGID: UInt32 = 65534) {
        self.cwd = cwd
        self.isRoot = isRoot
        self.overflowUID = overflowUID
        self.overflowGID = overflowGID
    }
}

/// Everything the command line asked for, resolved and checked for consistency (but not yet
/// against the filesystem): the value between parsing and acting.
public struct MountPlan: Sendable, Equatable {
    /// The SOURCE word mount(8) passes ("overlay", "none", ...); only used as fsname.
    public var source: String?
    /// Absolute.
    public var mountpoint: String
    /// Absolute paths; index 0 is the top lower layer (leftmost in lowerdir=).
    public var lowerDirs: [String]
    public var upperDir: String?
    public var workDir: String?
    public var uidMap: IDMap = .identity
    public var gidMap: IDMap = .identity
    public var fsync: Bool = true
    /// squash_to_uid= / squash_to_gid= (squash_to_root: both 0).
    public var squashUID: UInt32?
    public var squashGID: UInt32?
    /// noxattrs, static_nlink, ino32_t, writeback (fuse-overlayfs options, same meaning).
    public var xattrs: Bool = true
    public var staticNlink: Bool = false
    /// metacopy=on: metadata changes of a lower file copy up only its metadata.
    public var metacopy: Bool = false
    /// redirect_dir=on: renaming a directory with lower layers records a redirect (off: such a
    /// rename fails with EXDEV; redirects are followed unless nofollow).
    public var redirectDir: RedirectDir = .follow
    public var ino32: Bool = false
    public var writeback: Bool = false
    /// passthrough=on|off: FUSE passthrough for whole upper-layer files (default on).
    public var passthrough: Bool = true
    /// readahead=KiB: the mount's read-ahead window (0: leave the kernel's 128 KiB).
    public var readaheadKiB: Int = MountPlan.defaultReadaheadKiB
    /// One FUSE read request carries at most 1 MiB (libfuse 3.14's 256 pages), so a 1 MiB
    /// window is one request that the kernel starts ahead of the reader.
    public static let defaultReadaheadKiB = 1024
    public static let maxReadaheadKiB = 65536
    /// max_read=BYTES: the largest read request. A reply is spliced from the layer file through
    /// a pipe that must hold it and its header, and an unprivileged pipe (no CAP_SYS_RESOURCE,
    /// as in most containers) holds 1 MiB (fs.pipe-max-size), so a 1 MiB request would be copied
    /// through a buffer instead: 512 KiB requests keep every read a splice.
    public var maxRead: Int = MountPlan.defaultMaxRead
    public static let defaultMaxRead = 512 * 1024
    /// uring=auto|on|off: serve requests over io_uring when the kernel offers it (Linux 6.14+ with
    /// the fuse module's enable_uring on; `on` turns that on as root).
    public var uring: UringMode = .auto
    /// uring_threads=N: ring threads per CPU (each serves one request at a time).
    public var uringThreads: Int = MountPlan.defaultUringThreads
    public static let defaultUringThreads = 2
    public static let maxUringThreads = 16
    /// prefetch=N: threads that list directories ahead of a tree walk (0: none).
    public var prefetchThreads: Int = MountPlan.defaultPrefetchThreads
    public static let defaultPrefetchThreads = 2
    public static let maxPrefetchThreads = 16
    /// Kernel-side POSIX ACLs (noacl turns them off).
    public var posixACL: Bool = true
    /// xattr_permissions=0|1|2.
    public var xattrPermissions: Int = 0
    /// Kernel cache timeout. The daemon is the only writer to its layers and tells the kernel
    /// about side effects (copy-up, link), so names and attributes can be cached long, as
    /// fuse-overlayfs does.
    public var timeout: Double = MountPlan.defaultTimeout
    public static let defaultTimeout: Double = 86400
    /// Maximum libfuse worker threads; 1 = single-threaded loop (-s or threaded=0).
    public var threads: Int = 10
    public var foreground: Bool = false
    public var debug: Bool = false
    /// The complete -o list handed to libfuse (defaults first, then the caller's mount options).
    public var fuseOptions: [String] = []
    /// Options accepted but ignored, each a line for stderr.
    public var warnings: [String] = []

    public init(mountpoint: String, lowerDirs: [String]) {
        self.mountpoint = mountpoint
        self.lowerDirs = lowerDirs
    }

    /// Without an upper layer the mount is read-only.
    public var isReadOnly: Bool { upperDir == nil }

    /// The flat directory the upper layer builds objects in: WORKDIR/work.
    public var workTempDir: String? { workDir.map { $0 == "/" ? "/work" : $0 + "/work" } }

    public var fuseConfig: FuseMountConfig {
        var c = FuseMountConfig(
            mountpoint: mountpoint, foreground: foreground, debug: debug, fuseOptions: fuseOptions,
            timeout: timeout, threads: threads)
        c.posixACL = posixACL
        c.writeback = writeback
        c.passthrough = passthrough
        c.readaheadKiB = readaheadKiB
        c.maxRead = maxRead
        c.uring = uring
        c.uringThreads = uringThreads
        c.prefetchThreads = prefetchThreads
        return c
    }
}

/// The result of parsing a command line.
public enum Command: Sendable, Equatable {
    case help
    case version
    case mount(MountPlan)
}
