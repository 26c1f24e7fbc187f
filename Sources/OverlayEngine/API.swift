import LayerAPI

/// A FUSE node id. 1 is the root. Ids are table keys, never pointers, and never reused while
/// the kernel may still hold them.
public typealias NodeID = UInt64
/// An open file or directory handle (FUSE `fh`).
public typealias HandleID = UInt64

/// Who makes a request, as the kernel sees them through the mount (visible ids).
public struct Caller: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The caller's umask, applied to new objects in a directory without a default ACL (the
    /// kernel leaves that to the filesystem once POSIX ACLs are negotiated).
    public var umask: UInt32
    public init(uid: UInt32, gid: UInt32, pid: Int32 = 0, umask: UInt32 = 0) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.umask = umask
    }
    public static let root = Caller(uid: 0, gid: 0)
}

/// The answer to lookup/create/mkdir/...: the node (its lookup count was raised by one) and its
/// visible attributes.
public struct Entry: Sendable, Hashable {
    public var node: NodeID
    public var generation: UInt64
    public var attr: FileStat
    public init(node: NodeID, generation: UInt64, attr: FileStat) {
        self.node = node
        self.generation = generation
        self.attr = attr
    }
}

/// What a setattr changes; nil / .omit leaves that attribute alone. Ids are visible ids.
public struct AttrChanges: Sendable, Hashable {
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: Int64?
    public var atime: TimeUpdate = .omit
    public var mtime: TimeUpdate = .omit
    /// After the other changes, a non-directory loses S_ISUID, and S_ISGID if it is group
    /// executable: what a write, truncate or chown does to the file on a local filesystem, which
    /// the kernel leaves to the FUSE server once FUSE_HANDLE_KILLPRIV_V2 is agreed (the kernel
    /// has already decided that the caller lacks CAP_FSETID, or that it is a chown).
    public var dropSetID: Bool = false
    public init(
        mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: Int64? = nil,
        atime: TimeUpdate = .omit, mtime: TimeUpdate = .omit, dropSetID: Bool = false
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.atime = atime
        self.mtime = mtime
        self.dropSetID = dropSetID
    }
    /// No attribute to set (dropSetID aside).
    public var setsNothing: Bool {
        mode == nil && uid == nil && gid == nil && size == nil && atime == .omit && mtime == .omit
    }
    public var isEmpty: Bool { setsNothing && !dropSetID }
}

/// One entry of a merged directory listing, with the offset that resumes after it.
public struct ListedEntry: Sendable, Hashable {
    public var name: [UInt8]
    public var ino: UInt64
    public var type: FileType
    public var nextOffset: Int64
    /// What the listing saw (see `OverlayFS.lookup(parent:listed:)`): the layers before this
    /// one (upper first) hold neither the name nor a whiteout of it, as long as the namespace
    /// generation is still `listedAt`.
    public var firstLayer: Int
    public var listedAt: UInt64
    /// The lookup a directory prefetch did ahead (Prefetch.swift), valid while the generation is
    /// still `listedAt`. A cache, not part of the value: equality and hashing ignore it.
    var resolution: Resolution?
    public init(name: [UInt8], ino: UInt64, type: FileType, nextOffset: Int64, firstLayer: Int = 0, listedAt: UInt64 = .max) {
        self.name = name
        self.ino = ino
        self.type = type
        self.nextOffset = nextOffset
        self.firstLayer = firstLayer
        self.listedAt = listedAt
    }

    public static func == (a: ListedEntry, b: ListedEntry) -> Bool {
        a.name == b.name && a.ino == b.ino && a.type == b.type && a.nextOffset == b.nextOffset
            && a.firstLayer == b.firstLayer && a.listedAt == b.listedAt
    }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(ino)
        h.combine(nextOffset)
    }
}

/// How the engine reports conditions that should never happen (it then answers EIO) and, at
/// debug level, every mutation of a layer.
public struct EngineLog: Sendable {
    public var warning: @Sendable (String) -> Void
    public var debug: (@Sendable (String) -> Void)?
    public init(warning: @escaping @Sendable (String) -> Void, debug: (@Sendable (String) -> Void)? = nil) {
        self.warning = warning
        self.debug = debug
    }
    public static let silent = EngineLog(warning: { _ in })
}

/// What the overlay does with directory redirects (`trusted.overlay.redirect` on an upper
/// directory: where its lower directories are, after a rename).
public enum RedirectDir: Sendable, Hashable {
    /// Renaming a directory that has lower layers records a redirect; redirects are followed.
    case on
    /// Redirects are followed, never made: such a rename fails with EXDEV (`mv` then copies).
    /// The kernel's redirect_dir=off with its default redirect_always_follow.
    case follow
    /// Redirects are neither made nor followed.
    case nofollow
}

public struct EngineOptions: Sendable {
    /// Storage <-> visible id tables (identity when empty).
    public var uidMap: IDMap = .identity
    public var gidMap: IDMap = .identity
    /// squash_to_uid / squash_to_gid (squash_to_root sets both to 0): every object shows this
    /// owner, whatever is stored.
    public var squashUID: UInt32?
    public var squashGID: UInt32?
    /// fuse-overlayfs's xattr_permissions: 0 off; 1 or 2: the upper layer keeps owners and modes
    /// in `security.fuseoverlayfs.override_stat` (1) or `user.fuseoverlayfs.override_stat` (2)
    /// instead of for real (for rootless storage, where chown is not possible).
    public var xattrPermissions: Int = 0
    /// noxattrs: extended attributes are not supported through the mount (EOPNOTSUPP).
    public var xattrs: Bool = true
    /// static_nlink: directories always show a link count of 1.
    public var staticNlink: Bool = false
    /// metacopy=on: chown/chmod/utimens/setxattr/removexattr/link of a lower regular file copy
    /// up only its metadata (a sparse upper file marked `trusted.overlay.metacopy`, as kernel
    /// overlayfs does); the data follows at the first open for write or truncate. Metacopy
    /// files made by the kernel are read correctly whatever this says.
    public var metacopy: Bool = false
    /// redirect_dir (kernel overlayfs's option, same on-disk format; see Redirect.swift).
    public var redirectDir: RedirectDir = .follow
    /// ino32_t: inode numbers folded into 32 bits (for 32-bit programs).
    public var ino32: Bool = false
    /// writeback: the kernel caches writes (FUSE writeback cache), so it may read through a
    /// handle opened write-only: such handles are opened read-write on the layer.
    public var writebackCache: Bool = false
    /// Call fsync on copy-up and honour fsync requests (fsync=0 / volatile turn it off).
    public var fsync: Bool = true
    /// Directory entries kept in listing snapshots for readers that continue from an offset
    /// (see Listings.swift); the newest snapshot is kept whatever its size.
    public var listingBudget: Int = 65_536
    public var log: EngineLog = .silent
    public init() {}
}
