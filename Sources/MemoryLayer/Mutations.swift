import LayerAPI

extension MemoryLayer {
    public func create(_ at: Place, flags: OpenFlags, mode: UInt32) throws(Errno) -> any LayerFile {
        let handle = try locked(.create) { (tree) throws(Errno) in
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EEXIST }
            let node = try tree.makeNode(
                in: dir, name: name, mode: FileType.regular.modeBits | (mode & ModeBits.permissionMask),
                now: tree.now())
            return tree.register(node)
        }
        return MemoryFile(layer: self, handle: handle.id, ino: handle.ino, flags: flags)
    }

    public func mkdir(_ at: Place, mode: UInt32) throws(Errno) {
        try locked(.mkdir) { (tree) throws(Errno) in
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EEXIST }
            // vfs_mkdir keeps only rwx and sticky; setgid comes from the parent.
            _ = try tree.makeNode(
                in: dir, name: name, mode: FileType.directory.modeBits | (mode & 0o1777), now: tree.now())
        }
    }

    public func mknod(_ at: Place, mode: UInt32, rdev: UInt64) throws(Errno) {
        try locked(.mknod) { (tree) throws(Errno) in
            var type = FileType(mode: mode)
            switch mode & FileType.formatMask {
            case 0: type = .regular
            case 0o040000: throw .EPERM
            default: if type == .symlink || type == .unknown { throw .EINVAL }
            }
            guard rdev <= UInt64(UInt32.max) else { throw .EINVAL }
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EEXIST }
            let node = try tree.makeNode(
                in: dir, name: name, mode: type.modeBits | (mode & ModeBits.permissionMask), now: tree.now())
            if type == .characterDevice || type == .blockDevice { node.rdev = rdev }
        }
    }

    public func symlink(_ at: Place, target: [UInt8]) throws(Errno) {
        try locked(.symlink) { (tree) throws(Errno) in
            guard !target.isEmpty else { throw .ENOENT }
            guard target.count < 4096 else { throw .ENAMETOOLONG }
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EEXIST }
            let node = try tree.makeNode(
                in: dir, name: name, mode: FileType.symlink.modeBits | 0o777, now: tree.now())
            node.target = target
        }
    }

    public func link(from: Place, to: Place) throws(Errno) {
        try locked(.link) { (tree) throws(Errno) in
            let node = try tree.node(from)
            guard let (dir, name) = try tree.parentAndName(to) else { throw .EEXIST }
            guard dir.entries[name] == nil else { throw .EEXIST }
            guard !node.isDirectory else { throw .EPERM }
            guard node.nlink < 65000 else { throw .EMLINK }
            let now = tree.now()
            dir.entries[name] = node.ino
            dir.touchModified(now)
            node.nlink += 1
            node.ctime = now
        }
    }

    public func unlink(_ at: Place) throws(Errno) {
        try locked(.unlink) { (tree) throws(Errno) in
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EISDIR }
            guard let ino = dir.entries[name] else { throw .ENOENT }
            let node = try tree.inode(ino)
            guard !node.isDirectory else { throw .EISDIR }
            tree.unlinkEntry(dir, name, node, now: tree.now())
        }
    }

    public func rmdir(_ at: Place) throws(Errno) {
        try locked(.rmdir) { (tree) throws(Errno) in
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EINVAL }
            guard let ino = dir.entries[name] else { throw .ENOENT }
            let node = try tree.inode(ino)
            guard node.isDirectory else { throw .ENOTDIR }
            guard node.entries.isEmpty else { throw .ENOTEMPTY }
            tree.unlinkEntry(dir, name, node, now: tree.now())
        }
    }

    public func rename(from: Place, to: Place, flags: RenameFlags) throws(Errno) {
        try locked(.rename) { (tree) throws(Errno) in try tree.rename(from: from, to: to, flags: flags) }
    }

    public func chmod(_ at: Place, mode: UInt32) throws(Errno) {
        try locked(.chmod) { (tree) throws(Errno) in try tree.chmod(try tree.node(at), mode: mode) }
    }

    public func chown(_ at: Place, uid: UInt32?, gid: UInt32?) throws(Errno) {
        try locked(.chown) { (tree) throws(Errno) in tree.chown(try tree.node(at), uid: uid, gid: gid) }
    }

    public func setTimes(_ at: Place, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        try locked(.setTimes) { (tree) throws(Errno) in
            try tree.setTimes(try tree.node(at), access: access, modification: modification)
        }
    }

    public func truncate(_ at: Place, size: Int64) throws(Errno) {
        try locked(.truncate) { (tree) throws(Errno) in
            guard size >= 0 else { throw .EINVAL }
            let node = try tree.node(at)
            switch node.type {
            case .regular: break
            case .directory: throw .EISDIR
            case .symlink: throw .ELOOP
            // The POSIX layer opens the object (O_WRONLY|O_NONBLOCK|O_NOFOLLOW) to ftruncate it:
            // a fifo without reader, a socket or a device that is not there give ENXIO.
            default: throw .ENXIO
            }
            try tree.resize(node, to: size)
            node.touchModified(tree.now())
            node.killPriv()
        }
    }

    public func setXattr(_ at: Place, _ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) {
        try locked(.setXattr) { (tree) throws(Errno) in
            try tree.setXattr(name, value, flags: flags) { () throws(Errno) in try tree.node(at) }
        }
    }

    public func removeXattr(_ at: Place, _ name: [UInt8]) throws(Errno) {
        try locked(.removeXattr) { (tree) throws(Errno) in
            guard !name.isEmpty, name.count <= 255 else { throw .ERANGE }
            let node = try tree.node(at)
            let ns = try XattrRules.namespace(of: name)
            if ns == .user && !XattrRules.userAllowed(on: node) { throw .EPERM }
            guard let i = node.xattrs.firstIndex(where: { $0.name == name }) else { throw .ENODATA }
            node.xattrs.remove(at: i)
            node.ctime = tree.now()
        }
    }

    public func removeTree(_ at: Place) throws(Errno) {
        try locked(.removeTree) { (tree) throws(Errno) in
            guard let (dir, name) = try tree.parentAndName(at) else { throw .EBUSY }
            guard let ino = dir.entries[name] else { throw .ENOENT }
            try tree.removeRecursively(dir, name, try tree.inode(ino), now: tree.now())
        }
    }

    public func sync() throws(Errno) {
        try locked(.sync) { (_) throws(Errno) in }
    }
}

extension Tree {
    func removeRecursively(_ dir: Inode, _ name: Name, _ node: Inode, now: Timespec) throws(Errno) {
        if node.isDirectory {
            for (childName, childIno) in node.entries {
                try removeRecursively(node, childName, try inode(childIno), now: now)
            }
        }
        unlinkEntry(dir, name, node, now: now)
    }
}
