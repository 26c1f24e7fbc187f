import LayerAPI
import Sys

/// A real directory as a read-only layer. Stub: the real implementation replaces this file.
public final class PosixLayer: Layer {
    /// Opens `root` (an absolute or relative path; symlinks in it are followed once, here).
    public init(root: String) throws(Errno) { throw .ENOSYS }
    public func stat(_ path: RelPath) throws(Errno) -> FileStat { throw .ENOSYS }
    public func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] { throw .ENOSYS }
    public func readLink(_ path: RelPath) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] { throw .ENOSYS }
    public func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile { throw .ENOSYS }
    public func statfs() throws(Errno) -> FSStat { throw .ENOSYS }
}
