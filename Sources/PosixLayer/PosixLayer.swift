import LayerAPI
import Sys

/// A real directory as a read-only layer. The root is opened once; every access is resolved
/// beneath that descriptor without following symlinks (see `LayerRoot`).
public final class PosixLayer: Layer {
    /// Immutable after init; the descriptor is closed in deinit.
    let root: LayerRoot

    /// Opens `root` (an absolute or relative path; symlinks in it are followed once, here).
    public init(root: String) throws(Errno) {
        self.root = try LayerRoot.open(root)
    }

    deinit { root.close() }

    public func stat(_ path: RelPath) throws(Errno) -> FileStat { try root.stat(path) }
    public func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] { try root.readDirectory(path) }
    public func readLink(_ path: RelPath) throws(Errno) -> [UInt8] { try root.readLink(path) }
    public func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        try root.getXattr(path, name)
    }
    public func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] { try root.listXattr(path) }
    public func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        try root.open(path, flags)
    }
    public func statfs() throws(Errno) -> FSStat { try root.statfs() }
}

// TEMPORARY (branch `fuse` only): a stand-in so the CLI compiles until the real upper layer lands.
// Every method throws ENOSYS. Delete this class when merging the real PosixUpperLayer.
public final class PosixUpperLayer: UpperLayer {
    /// Opens `root` as the upper tree and `workDir` as its flat work directory.
    public init(root: String, workDir: String) throws(Errno) {}
    public func stat(_ path: RelPath) throws(Errno) -> FileStat { throw .ENOSYS }
    public func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] { throw .ENOSYS }
    public func readLink(_ path: RelPath) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] { throw .ENOSYS }
    public func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile { throw .ENOSYS }
    public func statfs() throws(Errno) -> FSStat { throw .ENOSYS }
    public func stat(_ at: Place) throws(Errno) -> FileStat { throw .ENOSYS }
    public func readDirectory(_ at: Place) throws(Errno) -> [DirEntry] { throw .ENOSYS }
    public func getXattr(_ at: Place, _ name: [UInt8]) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func listXattr(_ at: Place) throws(Errno) -> [[UInt8]] { throw .ENOSYS }
    public func open(_ at: Place, _ flags: OpenFlags) throws(Errno) -> any LayerFile { throw .ENOSYS }
    public func create(_ at: Place, flags: OpenFlags, mode: UInt32) throws(Errno) -> any LayerFile { throw .ENOSYS }
    public func mkdir(_ at: Place, mode: UInt32) throws(Errno) { throw .ENOSYS }
    public func mknod(_ at: Place, mode: UInt32, rdev: UInt64) throws(Errno) { throw .ENOSYS }
    public func symlink(_ at: Place, target: [UInt8]) throws(Errno) { throw .ENOSYS }
    public func link(from: Place, to: Place) throws(Errno) { throw .ENOSYS }
    public func unlink(_ at: Place) throws(Errno) { throw .ENOSYS }
    public func rmdir(_ at: Place) throws(Errno) { throw .ENOSYS }
    public func rename(from: Place, to: Place, flags: RenameFlags) throws(Errno) { throw .ENOSYS }
    public func chmod(_ at: Place, mode: UInt32) throws(Errno) { throw .ENOSYS }
    public func chown(_ at: Place, uid: UInt32?, gid: UInt32?) throws(Errno) { throw .ENOSYS }
    public func setTimes(_ at: Place, access: TimeUpdate, modification: TimeUpdate) throws(Errno) { throw .ENOSYS }
    public func truncate(_ at: Place, size: Int64) throws(Errno) { throw .ENOSYS }
    public func setXattr(_ at: Place, _ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) { throw .ENOSYS }
    public func removeXattr(_ at: Place, _ name: [UInt8]) throws(Errno) { throw .ENOSYS }
    public func removeTree(_ at: Place) throws(Errno) { throw .ENOSYS }
    public func sync() throws(Errno) { throw .ENOSYS }
}
