import LayerAPI
import Sys

/// One directory tree reached only through its descriptor. Every path is resolved beneath that
/// descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) for the
/// parent, then the last component is used with *at() calls that do not follow symlinks; so no
/// call reads or writes outside the root (house rule 7).
struct LayerRoot: Sendable {
    /// The root directory, opened O_RDONLY|O_DIRECTORY (not O_PATH: fstatvfs, syncfs, f*xattr and
    /// fchmod act on it). Owned by the layer object, which closes it in deinit.
    let fd: FD
    /// Descriptors of parent directories already walked to (see DirectoryCache).
    let parents = DirectoryCache()

    /// Opens `path` (symlinks in it are followed, once, here: podman passes lowers as symlinks).
    static func open(_ path: String) throws(Errno) -> LayerRoot {
        LayerRoot(fd: try FD.open(path, flags: SysFlags.readOnly | SysFlags.directory))
    }

    func close() { fd.close() }

    /// Calls `body` with a descriptor of the parent directory of `path` and the last name.
    /// EINVAL for the root itself (callers handle it first). A symlink on the way gives ELOOP.
    func withParent<R>(_ path: RelPath, _ body: (FD, [UInt8]) throws(Errno) -> R) throws(Errno) -> R {
        guard let last = path.last else { throw .EINVAL }
        if path.components.count == 1 { return try body(fd, last.bytes) }
        let parentPath = path.parent
        let owner: FileDescriptor
        let (cached, generation) = parents.get(parentPath)
        if let cached {
            owner = cached
        } else {
            owner = FileDescriptor(try openConfined(parentPath, flags: SysFlags.path | SysFlags.directory))
            parents.put(parentPath, owner, openedAt: generation)
        }
        // `owner` stays referenced until `body` is done, so its descriptor cannot be closed under
        // it even if the cache drops the entry meanwhile.
        do {
            let result = try body(try owner.fd, last.bytes)
            withExtendedLifetime(owner) {}
            return result
        } catch {
            withExtendedLifetime(owner) {}
            throw error
        }
    }

    /// Opens the object at `path` itself beneath the root (a final symlink gives ELOOP).
    func openBeneath(_ path: RelPath, flags: Int32, mode: UInt32 = 0) throws(Errno) -> FD {
        try openConfined(path, flags: flags | SysFlags.noFollow, mode: mode)
    }

    /// The kernel's PATH_MAX (bytes, with the terminating NUL).
    static let pathLimit = 4096

    /// openat2 of `path` beneath the root. A path longer than PATH_MAX is walked in pieces, each
    /// shorter than the limit and opened (O_PATH, confined) beneath the directory of the piece
    /// before it; each piece is resolved as confined as the whole would be.
    private func openConfined(_ path: RelPath, flags: Int32, mode: UInt32 = 0) throws(Errno) -> FD {
        let whole = path.bytes
        if whole.count < Self.pathLimit { return try fd.openAt2(whole, flags: flags, mode: mode, resolve: .confined) }
        var rest = path.components[...]
        var base: FD?
        defer { base?.close() }
        while true {
            let remaining = RelPath(Array(rest)).bytes
            if remaining.count < Self.pathLimit {
                return try (base ?? fd).openAt2(remaining, flags: flags, mode: mode, resolve: .confined)
            }
            var take = 0
            var length = 0
            for n in rest.dropLast() {
                if length + n.bytes.count + 1 >= Self.pathLimit { break }
                length += n.bytes.count + 1
                take += 1
            }
            guard take > 0 else { throw .ENAMETOOLONG }
            let piece = RelPath(Array(rest.prefix(take))).bytes
            let next = try (base ?? fd).openAt2(piece, flags: SysFlags.path | SysFlags.directory, resolve: .confined)
            base?.close()
            base = next
            rest = rest.dropFirst(take)
        }
    }

    // MARK: Reading

    func stat(_ path: RelPath) throws(Errno) -> FileStat {
        if path.isRoot { return try fd.stat() }
        return try withParent(path) { (dir, name) throws(Errno) in
            try dir.statAt(name, flags: SysFlags.atSymlinkNoFollow)
        }
    }

    func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] {
        let dir = try openBeneath(path, flags: SysFlags.readOnly | SysFlags.directory)
        defer { dir.close() }
        return try dir.readDirectoryEntries()
    }

    func readLink(_ path: RelPath) throws(Errno) -> [UInt8] {
        if path.isRoot { throw .EINVAL }
        return try withParent(path) { (dir, name) throws(Errno) in try dir.readLinkAt(name) }
    }

    func getXattr(_ path: RelPath, _ attribute: [UInt8]) throws(Errno) -> [UInt8] {
        if path.isRoot { return try fd.getXattr(nil, attribute) }
        return try withParent(path) { (dir, name) throws(Errno) in try dir.getXattr(name, attribute) }
    }

    func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] {
        if path.isRoot { return try fd.listXattr(nil) }
        return try withParent(path) { (dir, name) throws(Errno) in try dir.listXattr(name) }
    }

    /// Opens a regular file for I/O. O_NONBLOCK is added while opening so a fifo or device found
    /// there cannot block the caller; it is cleared again once the object is known to be regular.
    func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        if path.isRoot { throw .EISDIR }
        let stripped = flags.rawValue
            & ~(SysFlags.create | SysFlags.exclusive | SysFlags.directory | SysFlags.tmpFileOnly)
        let wantsNonBlocking = stripped & SysFlags.nonBlocking != 0
        let file = try openBeneath(path, flags: stripped | SysFlags.nonBlocking)
        do throws(Errno) {
            let type = try file.stat().type
            if type == .directory { throw .EISDIR }
            if type != .regular { throw .ENXIO }
            if !wantsNonBlocking { try file.setStatusFlags(stripped) }
        } catch {
            file.close()
            throw error
        }
        return PosixFile(file)
    }

    func statfs() throws(Errno) -> FSStat { try fd.statfs() }
}
