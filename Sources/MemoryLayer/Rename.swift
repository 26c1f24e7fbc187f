import LayerAPI

extension Tree {
    /// renameat2(2), checked in the kernel's order (do_renameat2, vfs_rename, ext4_rename).
    func rename(from: Place, to: Place, flags: RenameFlags) throws(Errno) {
        let known: RenameFlags = [.noReplace, .exchange, .whiteout]
        guard flags.isSubset(of: known) else { throw .EINVAL }
        if flags.contains(.exchange) && !flags.isDisjoint(with: [.noReplace, .whiteout]) { throw .EINVAL }
        guard let (oldDir, oldName) = try parentAndName(from) else { throw .EBUSY }
        guard let (newDir, newName) = try parentAndName(to) else { throw .EBUSY }
        guard let oldIno = oldDir.entries[oldName] else { throw .ENOENT }
        let source = try inode(oldIno)
        let target = try newDir.entries[newName].map { (ino) throws(Errno) in try inode(ino) }
        if flags.contains(.noReplace) && target != nil { throw .EEXIST }
        if flags.contains(.exchange) && target == nil { throw .ENOENT }
        // Traps: the source may not be an ancestor of the target's directory, and the target
        // may not be an ancestor of the source's directory.
        if source.isDirectory && isWithin(newDir, source) { throw .EINVAL }
        if let target, target.isDirectory, isWithin(oldDir, target) {
            throw flags.contains(.exchange) ? .EINVAL : .ENOTEMPTY
        }
        if let target, target === source { return }  // two links to one inode: nothing happens
        let now = now()
        if let target, flags.contains(.exchange) {
            oldDir.entries[oldName] = target.ino
            newDir.entries[newName] = source.ino
            if oldDir !== newDir {
                if source.isDirectory {
                    oldDir.nlink -= 1
                    newDir.nlink += 1
                    source.parent = newDir.ino
                }
                if target.isDirectory {
                    newDir.nlink -= 1
                    oldDir.nlink += 1
                    target.parent = oldDir.ino
                }
            }
            source.ctime = now
            target.ctime = now
            oldDir.touchModified(now)
            newDir.touchModified(now)
            return
        }
        if let target {
            if source.isDirectory && !target.isDirectory { throw .ENOTDIR }
            if !source.isDirectory && target.isDirectory { throw .EISDIR }
            if target.isDirectory && !target.entries.isEmpty { throw .ENOTEMPTY }
            unlinkEntry(newDir, newName, target, now: now)
        }
        oldDir.entries[oldName] = nil
        newDir.entries[newName] = source.ino
        if source.isDirectory && oldDir !== newDir {
            oldDir.nlink -= 1
            newDir.nlink += 1
            source.parent = newDir.ino
        }
        source.ctime = now
        oldDir.touchModified(now)
        newDir.touchModified(now)
        if flags.contains(.whiteout) {
            _ = try makeNode(in: oldDir, name: oldName, mode: FileType.characterDevice.modeBits, now: now)
        }
    }
}
