import LayerAPI

/// The whole mutable state of one `MemoryLayer`. Lives inside `MemoryLayer.state` (a Mutex)
/// and is only touched while that mutex is held.
final class Tree {
    let dev: UInt64
    let clock: @Sendable () -> Timespec
    /// Every live inode: linked somewhere (nlink > 0) or still open.
    var inodes: [UInt64: Inode] = [:]
    var nextIno: UInt64 = 2
    let rootIno: UInt64
    let workIno: UInt64
    /// Pending injected faults, in injection order.
    var faults: [Fault] = []
    /// Layer calls counted so far (every call that could take an injected fault).
    var calls: Int = 0
    /// Open file handles (ids of live `MemoryFile`s).
    var openHandles: Set<UInt64> = []
    var nextHandle: UInt64 = 1
    /// Capacity for statfs and ENOSPC; `usedBytes` is the sum of all regular files' sizes.
    var capacityBytes: UInt64
    var usedBytes: UInt64 = 0
    let totalInodes: UInt64 = 1 << 20

    init(dev: UInt64, capacityBytes: UInt64, clock: @escaping @Sendable () -> Timespec) {
        self.dev = dev
        self.clock = clock
        self.capacityBytes = capacityBytes
        let now = clock()
        let root = Inode(ino: nextIno, mode: FileType.directory.modeBits | 0o755, nlink: 2, now: now)
        nextIno += 1
        let work = Inode(ino: nextIno, mode: FileType.directory.modeBits | 0o700, nlink: 2, now: now)
        nextIno += 1
        rootIno = root.ino
        workIno = work.ino
        inodes[root.ino] = root
        inodes[work.ino] = work
    }

    func now() -> Timespec { clock() }

    func inode(_ ino: UInt64) throws(Errno) -> Inode {
        guard let node = inodes[ino] else { throw .EIO }  // a dangling entry: cannot happen
        return node
    }

    // MARK: Path resolution (no symlink is ever followed; an intermediate one is ELOOP,
    // as openat2 RESOLVE_NO_SYMLINKS reports)

    static func checkLength(_ name: Name) throws(Errno) {
        if name.bytes.count > 255 { throw .ENAMETOOLONG }
    }

    /// The directory that holds `place` and the final name; nil for the tree root itself.
    func parentAndName(_ place: Place) throws(Errno) -> (dir: Inode, name: Name)? {
        switch place {
        case .work(let name):
            try Tree.checkLength(name)
            return (try inode(workIno), name)
        case .tree(let path):
            guard let last = path.last else { return nil }
            var dir = try inode(rootIno)
            for component in path.components.dropLast() {
                try Tree.checkLength(component)
                guard let childIno = dir.entries[component] else { throw .ENOENT }
                let child = try inode(childIno)
                switch child.type {
                case .directory: dir = child
                case .symlink: throw .ELOOP
                default: throw .ENOTDIR
                }
            }
            try Tree.checkLength(last)
            return (dir, last)
        }
    }

    /// The object at `place` (ENOENT if missing).
    func node(_ place: Place) throws(Errno) -> Inode {
        guard let (dir, name) = try parentAndName(place) else { return try inode(rootIno) }
        guard let ino = dir.entries[name] else { throw .ENOENT }
        return try inode(ino)
    }

    /// True when `dir` is `ancestor` or lies below it.
    func isWithin(_ dir: Inode, _ ancestor: Inode) -> Bool {
        var current: Inode? = dir
        while let c = current {
            if c === ancestor { return true }
            current = c.parent.flatMap { inodes[$0] }
        }
        return false
    }

    // MARK: Creating and dropping objects

    /// A new inode of `mode` linked as `name` in `dir`, owned by root (with the BSD group
    /// inheritance of a setgid directory), all times "now", the parent's mtime/ctime updated.
    func makeNode(in dir: Inode, name: Name, mode: UInt32, now: Timespec) throws(Errno) -> Inode {
        guard dir.entries[name] == nil else { throw .EEXIST }
        guard UInt64(inodes.count) < totalInodes else { throw .ENOSPC }
        let isDir = FileType(mode: mode) == .directory
        let node = Inode(ino: nextIno, mode: mode, nlink: isDir ? 2 : 1, now: now)
        nextIno += 1
        if dir.mode & ModeBits.setGID != 0 {
            node.gid = dir.gid
            if isDir { node.mode |= ModeBits.setGID }
        }
        if isDir {
            node.parent = dir.ino
            dir.nlink += 1
        }
        inodes[node.ino] = node
        dir.entries[name] = node.ino
        dir.touchModified(now)
        return node
    }

    /// Drops one link of `node` (already removed from its directory); frees it when nothing
    /// refers to it any more.
    func dropLink(_ node: Inode, now: Timespec) {
        if node.isDirectory {
            node.nlink = 0
            node.parent = nil
        } else if node.nlink > 0 {
            node.nlink -= 1
        }
        node.ctime = now
        releaseIfUnused(node)
    }

    func releaseIfUnused(_ node: Inode) {
        guard node.nlink == 0, node.openCount == 0 else { return }
        usedBytes -= min(usedBytes, UInt64(node.data.count))
        node.data = []
        inodes[node.ino] = nil
    }

    /// Removes the entry `name` (pointing at `node`) from `dir`.
    func unlinkEntry(_ dir: Inode, _ name: Name, _ node: Inode, now: Timespec) {
        dir.entries[name] = nil
        if node.isDirectory { dir.nlink -= 1 }
        dir.touchModified(now)
        dropLink(node, now: now)
    }

    // MARK: File data

    static let maxFileSize: Int64 = 16 << 40  // ext4 with 4 KiB blocks

    /// Sets the size of a regular file, zero-filling growth, charging the capacity.
    func resize(_ node: Inode, to size: Int64) throws(Errno) {
        guard size >= 0 else { throw .EINVAL }
        guard size <= Tree.maxFileSize else { throw .EFBIG }
        let old = Int64(node.data.count)
        if size > old {
            try charge(UInt64(size - old))
            node.data.append(contentsOf: repeatElement(0, count: Int(size - old)))
        } else if size < old {
            node.data.removeSubrange(Int(size)..<Int(old))
            usedBytes -= min(usedBytes, UInt64(old - size))
        }
    }

    func charge(_ bytes: UInt64) throws(Errno) {
        guard bytes <= capacityBytes, usedBytes <= capacityBytes - bytes else { throw .ENOSPC }
        usedBytes += bytes
    }
}
