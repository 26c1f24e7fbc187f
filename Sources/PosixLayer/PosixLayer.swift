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
