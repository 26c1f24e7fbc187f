import LayerAPI
import Sys

/// The mutations of one confined tree (upper tree or work directory). Each is one *at() call on
/// the parent descriptor, or on the root descriptor itself for the root.
extension LayerRoot {
    /// True when mkdirat/mknodat/openat(O_CREAT) under `umask` would not give exactly `mode`.
    static func needsModeFixup(_ mode: UInt32, umask: UInt32) -> Bool {
        mode & umask & 0o777 != 0 || mode & 0o7000 != 0
    }

    func create(_ path: RelPath, flags: OpenFlags, mode: UInt32, umask: UInt32) throws(Errno) -> any LayerFile {
        if path.isRoot { throw .EEXIST }
        let permissions = mode & ModeBits.permissionMask
        let openFlags = (flags.rawValue & ~(SysFlags.directory | SysFlags.tmpFileOnly))
            | SysFlags.create | SysFlags.exclusive | SysFlags.noFollow
        return try withParent(path) { (dir, name) throws(Errno) -> any LayerFile in
            let file = try dir.openAt(name, flags: openFlags, mode: permissions)
            if LayerRoot.needsModeFixup(permissions, umask: umask) {
                do throws(Errno) {
                    try file.chmod(mode: permissions)
                } catch {
                    file.close()
                    try? dir.unlinkAt(name, flags: 0)
                    throw error
                }
            }
            return PosixFile(file)
        }
    }

    func mkdir(_ path: RelPath, mode: UInt32, umask: UInt32) throws(Errno) {
        if path.isRoot { throw .EEXIST }
        let permissions = mode & ModeBits.permissionMask
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.mkdirAt(name, mode: permissions)
            if LayerRoot.needsModeFixup(permissions, umask: umask) {
                try dir.chmodAt(name, mode: permissions)
            }
        }
    }

    func mknod(_ path: RelPath, mode: UInt32, rdev: UInt64, umask: UInt32) throws(Errno) {
        if path.isRoot { throw .EEXIST }
        let permissions = mode & ModeBits.permissionMask
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.mknodAt(name, mode: mode, device: rdev)
            if LayerRoot.needsModeFixup(permissions, umask: umask) {
                try dir.chmodAt(name, mode: permissions)
            }
        }
    }

    func symlink(_ path: RelPath, target: [UInt8]) throws(Errno) {
        if path.isRoot { throw .EEXIST }
        if target.isEmpty { throw .ENOENT }
        try withParent(path) { (dir, name) throws(Errno) in try dir.symlinkAt(name, target: target) }
    }

    func unlink(_ path: RelPath) throws(Errno) {
        if path.isRoot { throw .EBUSY }
        try withParent(path) { (dir, name) throws(Errno) in try dir.unlinkAt(name, flags: 0) }
    }

    func rmdir(_ path: RelPath) throws(Errno) {
        if path.isRoot { throw .EBUSY }
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.unlinkAt(name, flags: SysFlags.atRemoveDir)
        }
    }

    func chmod(_ path: RelPath, mode: UInt32) throws(Errno) {
        let permissions = mode & ModeBits.permissionMask
        if path.isRoot { return try fd.chmod(mode: permissions) }
        try withParent(path) { (dir, name) throws(Errno) in try dir.chmodAt(name, mode: permissions) }
    }

    func chown(_ path: RelPath, uid: UInt32?, gid: UInt32?) throws(Errno) {
        if uid == nil && gid == nil {
            _ = try stat(path)  // still report ENOENT & co., like fchownat(-1, -1)
            return
        }
        if path.isRoot { return try fd.chownAt([], uid: uid, gid: gid, flags: SysFlags.atEmptyPath) }
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.chownAt(name, uid: uid, gid: gid, flags: SysFlags.atSymlinkNoFollow)
        }
    }

    func setTimes(_ path: RelPath, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        if path.isRoot { return try fd.setTimesAt(nil, access: access, modification: modification) }
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.setTimesAt(name, access: access, modification: modification)
        }
    }

    /// truncate(2) without following a symlink: open O_WRONLY|O_NOFOLLOW|O_NONBLOCK, check it is
    /// a regular file, ftruncate.
    func truncate(_ path: RelPath, size: Int64) throws(Errno) {
        if path.isRoot { throw .EISDIR }
        try withParent(path) { (dir, name) throws(Errno) in
            let file = try dir.openAt(
                name, flags: SysFlags.writeOnly | SysFlags.noFollow | SysFlags.nonBlocking)
            defer { file.close() }
            let type = try file.stat().type
            if type == .directory { throw .EISDIR }
            if type != .regular { throw .EINVAL }
            try file.truncate(size)
        }
    }

    func setXattr(_ path: RelPath, _ attribute: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) {
        if path.isRoot { return try fd.setXattr(nil, attribute, value, flags: flags.rawValue) }
        try withParent(path) { (dir, name) throws(Errno) in
            try dir.setXattr(name, attribute, value, flags: flags.rawValue)
        }
    }

    func removeXattr(_ path: RelPath, _ attribute: [UInt8]) throws(Errno) {
        if path.isRoot { return try fd.removeXattr(nil, attribute) }
        try withParent(path) { (dir, name) throws(Errno) in try dir.removeXattr(name, attribute) }
    }

    /// Removes the object and, for a directory, everything below it. The root itself: EBUSY.
    func removeTree(_ path: RelPath) throws(Errno) {
        if path.isRoot { throw .EBUSY }
        try withParent(path) { (dir, name) throws(Errno) in
            try LayerRoot.removeEntry(dir, name, knownType: nil)
        }
    }

    /// Unlinks `name` in `dir`, emptying it first when it is a directory. Children are opened by
    /// single names with O_NOFOLLOW, so the walk stays below `dir`.
    static func removeEntry(_ dir: FD, _ name: [UInt8], knownType: FileType?) throws(Errno) {
        if knownType != .directory {
            do throws(Errno) {
                try dir.unlinkAt(name, flags: 0)
                return
            } catch {
                if error != .EISDIR { throw error }
            }
        }
        let child = try dir.openAt(
            name, flags: SysFlags.readOnly | SysFlags.directory | SysFlags.noFollow)
        do throws(Errno) {
            for entry in try child.readDirectoryEntries() {
                do throws(Errno) {
                    try removeEntry(child, entry.name.bytes, knownType: entry.type == .unknown ? nil : entry.type)
                } catch {
                    if error != .ENOENT { throw error }
                }
            }
        } catch {
            child.close()
            throw error
        }
        child.close()
        try dir.unlinkAt(name, flags: SysFlags.atRemoveDir)
    }
}
