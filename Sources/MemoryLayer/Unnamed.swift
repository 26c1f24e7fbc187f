import LayerAPI

/// Unnamed files (O_TMPFILE): an inode with no link, kept by its open handle, until `link`
/// names it.
extension MemoryLayer {
    public func createUnnamed(mode: UInt32) throws(Errno) -> (any UnnamedFile)? {
        let handle = try locked(.create) { (tree) throws(Errno) in
            guard UInt64(tree.inodes.count) < tree.totalInodes else { throw .ENOSPC }
            let node = Inode(ino: tree.nextIno, mode: FileType.regular.modeBits | (mode & ModeBits.permissionMask),
                nlink: 0, now: tree.now())
            tree.nextIno += 1
            tree.inodes[node.ino] = node
            return tree.register(node)
        }
        return MemoryUnnamedFile(layer: self, handle: handle.id, ino: handle.ino, flags: .readWrite)
    }

    public func link(_ file: any UnnamedFile, to at: Place) throws(Errno) {
        guard let file = file as? MemoryUnnamedFile, file.layer === self else { throw .EXDEV }
        try locked(.link) { (tree) throws(Errno) in
            guard tree.openHandles.contains(file.handle) else { throw .EBADF }
            let node = try tree.inode(file.ino)
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EEXIST }
            guard dir.entries[name] == nil else { throw .EEXIST }
            let now = tree.now()
            dir.entries[name] = node.ino
            dir.touchModified(now)
            node.nlink += 1
            node.ctime = now
        }
    }
}

/// An open unnamed file of a `MemoryLayer`; attribute changes act on its inode.
final class MemoryUnnamedFile: MemoryFile, UnnamedFile, @unchecked Sendable {
    func chown(uid: UInt32?, gid: UInt32?) throws(Errno) {
        try withInode(.chown) { (tree, node) throws(Errno) in tree.chown(node, uid: uid, gid: gid) }
    }

    func chmod(mode: UInt32) throws(Errno) {
        try withInode(.chmod) { (tree, node) throws(Errno) in try tree.chmod(node, mode: mode) }
    }

    func setXattr(_ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) {
        try withInode(.setXattr) { (tree, node) throws(Errno) in
            try tree.setXattr(name, value, flags: flags) { () throws(Errno) in node }
        }
    }

    func setTimes(access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        try withInode(.setTimes) { (tree, node) throws(Errno) in
            try tree.setTimes(node, access: access, modification: modification)
        }
    }
}
