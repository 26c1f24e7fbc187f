import LayerAPI
import Synchronization
import Sys

/// A real directory as the writable upper layer, plus its flat work directory (same filesystem).
/// `Place.tree(path)` is beneath `root`; `Place.work(name)` is `name` directly inside `workDir`.
public final class PosixUpperLayer: UpperLayer {
    /// The upper tree and the work directory; immutable, closed in deinit.
    let tree: LayerRoot
    let work: LayerRoot
    /// The process umask read once at init (never changed by us): decides when a create needs a
    /// chmod to get exactly the requested mode.
    let umask: UInt32
    /// Cleared for good once the work directory's filesystem refuses O_TMPFILE.
    private let unnamedFiles = Atomic<Bool>(true)

    public init(root: String, workDir: String) throws(Errno) {
        let tree = try LayerRoot.open(root)
        do throws(Errno) {
            self.work = try LayerRoot.open(workDir)
        } catch {
            tree.close()
            throw error
        }
        self.tree = tree
        self.umask = currentUmask()
    }

    deinit {
        tree.close()
        work.close()
    }

    /// The confined tree and path a Place names.
    @inline(__always)
    func locate(_ at: Place) -> (LayerRoot, RelPath) {
        switch at {
        case .tree(let path): return (tree, path)
        case .work(let name): return (work, RelPath([name]))
        }
    }

    // MARK: Layer (the upper tree read like a lower)

    public func stat(_ path: RelPath) throws(Errno) -> FileStat { try tree.stat(path) }
    public func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] { try tree.readDirectory(path) }
    public func readLink(_ path: RelPath) throws(Errno) -> [UInt8] { try tree.readLink(path) }
    public func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        try tree.getXattr(path, name)
    }
    public func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] { try tree.listXattr(path) }
    public func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        try tree.open(path, flags)
    }
    public func statfs() throws(Errno) -> FSStat { try tree.statfs() }

    // MARK: Reading by place

    public func stat(_ at: Place) throws(Errno) -> FileStat {
        let (root, path) = locate(at)
        return try root.stat(path)
    }
    public func readDirectory(_ at: Place) throws(Errno) -> [DirEntry] {
        let (root, path) = locate(at)
        return try root.readDirectory(path)
    }
    public func getXattr(_ at: Place, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        let (root, path) = locate(at)
        return try root.getXattr(path, name)
    }
    public func listXattr(_ at: Place) throws(Errno) -> [[UInt8]] {
        let (root, path) = locate(at)
        return try root.listXattr(path)
    }
    public func open(_ at: Place, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        let (root, path) = locate(at)
        return try root.open(path, flags)
    }

    // MARK: Mutations

    public func create(_ at: Place, flags: OpenFlags, mode: UInt32) throws(Errno) -> any LayerFile {
        let (root, path) = locate(at)
        return try root.create(path, flags: flags, mode: mode, umask: umask)
    }
    public func createUnnamed(mode: UInt32) throws(Errno) -> (any UnnamedFile)? {
        guard unnamedFiles.load(ordering: .relaxed) else { return nil }
        do {
            let fd = try work.fd.openAt(
                Array(".".utf8), flags: SysFlags.tmpFile | SysFlags.readWrite | SysFlags.closeOnExec, mode: mode & 0o7777)
            return PosixUnnamedFile(fd)
        } catch {
            // The filesystem (or kernel) has no O_TMPFILE: named work files from now on.
            guard error == .EOPNOTSUPP || error == .EISDIR || error == .EINVAL else { throw error }
            unnamedFiles.store(false, ordering: .relaxed)
            return nil
        }
    }
    public func link(_ file: any UnnamedFile, to at: Place) throws(Errno) {
        guard let raw = file.descriptor else { throw .EBADF }
        let (root, path) = locate(at)
        if path.isRoot { throw .EEXIST }
        try root.withParent(path) { (dir, name) throws(Errno) in try FD(rawValue: raw).linkOpenFile(to: dir, name) }
    }
    public func mkdir(_ at: Place, mode: UInt32) throws(Errno) {
        let (root, path) = locate(at)
        try root.mkdir(path, mode: mode, umask: umask)
    }
    public func mknod(_ at: Place, mode: UInt32, rdev: UInt64) throws(Errno) {
        let (root, path) = locate(at)
        try root.mknod(path, mode: mode, rdev: rdev, umask: umask)
    }
    public func symlink(_ at: Place, target: [UInt8]) throws(Errno) {
        let (root, path) = locate(at)
        try root.symlink(path, target: target)
    }
    public func link(from: Place, to: Place) throws(Errno) {
        let (sourceRoot, source) = locate(from)
        let (targetRoot, target) = locate(to)
        if source.isRoot { throw .EPERM }
        if target.isRoot { throw .EEXIST }
        try sourceRoot.withParent(source) { (sourceDir, sourceName) throws(Errno) in
            try targetRoot.withParent(target) { (targetDir, targetName) throws(Errno) in
                try sourceDir.linkAt(sourceName, to: targetDir, targetName)
            }
        }
    }
    public func unlink(_ at: Place) throws(Errno) {
        let (root, path) = locate(at)
        try root.unlink(path)
    }
    public func rmdir(_ at: Place) throws(Errno) {
        defer { tree.parents.clear() }  // the directory (and any cached descriptor of it) is gone
        let (root, path) = locate(at)
        try root.rmdir(path)
    }
    public func rename(from: Place, to: Place, flags: RenameFlags) throws(Errno) {
        // A directory may have moved: cached descriptors could name the wrong one. Only the move
        // of a non-directory (which can replace only a non-directory) leaves them all right; that
        // is every copy-up's final rename, so the cache survives a chown -R.
        var keepCache = false
        defer { if !keepCache { tree.parents.clear() } }
        let (sourceRoot, source) = locate(from)
        let (targetRoot, target) = locate(to)
        if source.isRoot || target.isRoot { throw .EBUSY }
        try sourceRoot.withParent(source) { (sourceDir, sourceName) throws(Errno) in
            try targetRoot.withParent(target) { (targetDir, targetName) throws(Errno) in
                try sourceDir.renameAt(sourceName, to: targetDir, targetName, flags: flags.rawValue)
            }
        }
        if !flags.contains(.exchange), let moved = try? stat(to), !moved.isDirectory { keepCache = true }
    }
    public func chmod(_ at: Place, mode: UInt32) throws(Errno) {
        let (root, path) = locate(at)
        try root.chmod(path, mode: mode)
    }
    public func chown(_ at: Place, uid: UInt32?, gid: UInt32?) throws(Errno) {
        let (root, path) = locate(at)
        try root.chown(path, uid: uid, gid: gid)
    }
    public func setTimes(_ at: Place, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        let (root, path) = locate(at)
        try root.setTimes(path, access: access, modification: modification)
    }
    public func truncate(_ at: Place, size: Int64) throws(Errno) {
        let (root, path) = locate(at)
        try root.truncate(path, size: size)
    }
    public func setXattr(_ at: Place, _ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) {
        let (root, path) = locate(at)
        try root.setXattr(path, name, value, flags: flags)
    }
    public func removeXattr(_ at: Place, _ name: [UInt8]) throws(Errno) {
        let (root, path) = locate(at)
        try root.removeXattr(path, name)
    }
    public func removeTree(_ at: Place) throws(Errno) {
        defer { tree.parents.clear() }
        let (root, path) = locate(at)
        try root.removeTree(path)
    }
    public func sync() throws(Errno) { try tree.fd.syncFilesystem() }
}
