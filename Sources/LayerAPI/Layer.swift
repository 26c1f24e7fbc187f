/// A read-only view of one layer directory tree. Every path is relative to the layer root and
/// every call acts on the object itself, never following a symlink in the last component (lstat
/// semantics); no call may reach outside the root. Errors are the errno the kernel would give.
public protocol Layer: AnyObject, Sendable {
    /// lstat of the object at `path`.
    func stat(_ path: RelPath) throws(Errno) -> FileStat
    /// The entries of the directory at `path`, without "." and "..", in no particular order.
    func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry]
    /// The target of the symlink at `path` (EINVAL if not a symlink).
    func readLink(_ path: RelPath) throws(Errno) -> [UInt8]
    /// The value of xattr `name` (ENODATA if absent). Acts on a symlink itself (lgetxattr).
    func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8]
    /// The xattr names present (llistxattr).
    func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]]
    /// Opens a regular file. Never follows a symlink; `flags` is the access mode plus O_APPEND etc.
    func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile
    /// statvfs of the filesystem holding the layer.
    func statfs() throws(Errno) -> FSStat
}

/// Where a mutation of the upper layer takes place: in the upper tree, or in the private work
/// directory (a flat directory on the same filesystem, used to build objects before they are
/// renamed into place atomically).
public enum Place: Hashable, Sendable, CustomStringConvertible {
    case tree(RelPath)
    case work(Name)

    public var description: String {
        switch self {
        case .tree(let p): return "upper:\(p)"
        case .work(let n): return "work:\(n)"
        }
    }
}

/// The writable top layer plus its work directory. All mutations act on the object itself (no
/// symlink following); ownership is set explicitly by the caller (create then chown).
public protocol UpperLayer: Layer {
    func stat(_ at: Place) throws(Errno) -> FileStat
    func readDirectory(_ at: Place) throws(Errno) -> [DirEntry]
    func getXattr(_ at: Place, _ name: [UInt8]) throws(Errno) -> [UInt8]
    func listXattr(_ at: Place) throws(Errno) -> [[UInt8]]
    func open(_ at: Place, _ flags: OpenFlags) throws(Errno) -> any LayerFile

    /// Creates a new regular file (O_CREAT|O_EXCL) with `mode` permission bits (umask is not
    /// applied by the layer) and returns it opened with `flags`.
    func create(_ at: Place, flags: OpenFlags, mode: UInt32) throws(Errno) -> any LayerFile
    func mkdir(_ at: Place, mode: UInt32) throws(Errno)
    /// `mode` includes the S_IFMT type (fifo, socket, char/block device).
    func mknod(_ at: Place, mode: UInt32, rdev: UInt64) throws(Errno)
    func symlink(_ at: Place, target: [UInt8]) throws(Errno)
    func link(from: Place, to: Place) throws(Errno)
    func unlink(_ at: Place) throws(Errno)
    func rmdir(_ at: Place) throws(Errno)
    /// renameat2 within the upper filesystem (tree and work are on the same filesystem).
    func rename(from: Place, to: Place, flags: RenameFlags) throws(Errno)
    /// chmod of permission bits (07777). On a symlink: EOPNOTSUPP (Linux has no lchmod).
    func chmod(_ at: Place, mode: UInt32) throws(Errno)
    /// lchown. `nil` leaves that id unchanged.
    func chown(_ at: Place, uid: UInt32?, gid: UInt32?) throws(Errno)
    /// utimensat with AT_SYMLINK_NOFOLLOW.
    func setTimes(_ at: Place, access: TimeUpdate, modification: TimeUpdate) throws(Errno)
    func truncate(_ at: Place, size: Int64) throws(Errno)
    func setXattr(_ at: Place, _ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno)
    func removeXattr(_ at: Place, _ name: [UInt8]) throws(Errno)
    /// Removes the object at `at` and, if it is a directory, everything below it.
    func removeTree(_ at: Place) throws(Errno)
    /// fsync of the whole upper filesystem (syncfs).
    func sync() throws(Errno)
    /// A regular file without a name in the work directory (O_TMPFILE), open read-write, with
    /// permission bits `mode`; nil when the upper filesystem cannot make one (the caller then
    /// builds a named work entry).
    func createUnnamed(mode: UInt32) throws(Errno) -> (any UnnamedFile)?
    /// Gives `file` the name `at`, which must not exist (EEXIST).
    func link(_ file: any UnnamedFile, to at: Place) throws(Errno)
}

extension UpperLayer {
    public func createUnnamed(mode: UInt32) throws(Errno) -> (any UnnamedFile)? { nil }
    public func link(_ file: any UnnamedFile, to at: Place) throws(Errno) { throw .EOPNOTSUPP }
}

/// A regular file made without a name (`UpperLayer.createUnnamed`): a copy-up is built in it and
/// then linked into place, as kernel overlayfs does, so a crash leaves nothing behind and its
/// fsync writes back no work directory. Attribute changes act on the file itself.
public protocol UnnamedFile: LayerFile {
    /// nil keeps that id.
    func chown(uid: UInt32?, gid: UInt32?) throws(Errno)
    /// Permission bits (07777).
    func chmod(mode: UInt32) throws(Errno)
    func setXattr(_ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno)
    func setTimes(access: TimeUpdate, modification: TimeUpdate) throws(Errno)
}

/// An open regular file of a layer. Safe to use from several threads (positional I/O only).
public protocol LayerFile: AnyObject, Sendable {
    /// The kernel descriptor when there is one (lets the FUSE adapter splice), else nil.
    var descriptor: Int32? { get }
    /// pread: the number of bytes read, 0 at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int
    /// pwrite (with O_APPEND the offset is ignored by the kernel): the number of bytes written.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int
    func stat() throws(Errno) -> FileStat
    func truncate(_ size: Int64) throws(Errno)
    func sync(dataOnly: Bool) throws(Errno)
    /// fallocate(2) with its raw mode bits.
    func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno)
    /// lseek SEEK_DATA: the start of the next data at or after `offset`, nil if none (ENXIO).
    func nextData(from offset: Int64) throws(Errno) -> Int64?
    /// lseek SEEK_HOLE: the start of the next hole at or after `offset` (the size at the end).
    func nextHole(from offset: Int64) throws(Errno) -> Int64
    /// Copies `length` bytes from this file to `destination` in the kernel when both are on
    /// kernel descriptors (copy_file_range); returns nil when that is not possible, so the
    /// caller falls back to read/write. Returns the bytes copied (0 at end of file).
    func copy(to destination: any LayerFile, from: Int64, to: Int64, length: Int) throws(Errno) -> Int?
    /// Releases the descriptor. Further calls fail with EBADF. Idempotent.
    func close()
}
