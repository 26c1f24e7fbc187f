import LayerAPI

/// Making new names (the kernel's dir.c, create side): create, mkdir, mknod, symlink, link.
/// A new object is built in the work directory with its final owner and mode, then renamed into
/// place, replacing a whiteout if one hides a lower object of that name.
extension OverlayFS {
    public func mkdir(parent: NodeID, name: Name, mode: UInt32, caller: Caller) throws(Errno) -> Entry {
        try makeObject(parent: parent, name: name, caller: caller, type: .directory) { (upper, place, _) throws(Errno) in
            try upper.mkdir(place, mode: 0o700)
            try upper.chmod(place, mode: mode & ModeBits.permissionMask)
        }
    }

    public func mknod(parent: NodeID, name: Name, mode: UInt32, rdev: UInt64, caller: Caller) throws(Errno) -> Entry {
        let type = FileType(mode: mode)
        if type == .regular {
            let (entry, handle) = try create(parent: parent, name: name, mode: mode, flags: .readOnly, caller: caller)
            release(handle)
            return entry
        }
        guard [.fifo, .socket, .characterDevice, .blockDevice].contains(type) else { throw .EINVAL }
        return try makeObject(parent: parent, name: name, caller: caller, type: type) { (upper, place, _) throws(Errno) in
            try upper.mknod(place, mode: type.modeBits, rdev: rdev)
            try upper.chmod(place, mode: mode & ModeBits.permissionMask)
        }
    }

    public func symlink(parent: NodeID, name: Name, target: [UInt8], caller: Caller) throws(Errno) -> Entry {
        try makeObject(parent: parent, name: name, caller: caller, type: .symlink) { (upper, place, _) throws(Errno) in
            try upper.symlink(place, target: target)
        }
    }

    public func link(_ node: NodeID, newParent: NodeID, newName: Name, caller: Caller) throws(Errno) -> Entry {
        _ = try writable()
        let (_, placement) = try locate(node)
        if placement.type == .directory { throw .EPERM }
        try prepareLink(node)
        let entry = try makeObject(parent: newParent, name: newName, caller: caller, type: placement.type, setOwner: false) {
            (upper, place, _) throws(Errno) in
            let (src, now) = try locate(node)
            guard now.upper else { throw .ENOENT }
            try upper.link(from: .tree(src), to: place)
        }
        markStale(node)  // its link count changed
        linked(entry.node, from: node)
        return entry
    }

    /// The common path of every creation: under `namespace`, the parent is copied up, the name
    /// checked free, the object built at a work place by `build`, given its owner (the caller's
    /// storage ids, or the parent's gid in a setgid directory) and renamed into place.
    func makeObject(
        parent: NodeID, name: Name, caller: Caller, type: FileType, setOwner: Bool = true,
        build: (any UpperLayer, Place, RelPath) throws(Errno) -> Void
    ) throws(Errno) -> Entry {
        let upper = try writable()
        if Markers.isReservedName(name) { throw .EINVAL }
        return try namespace.withLock { _ throws(Errno) -> Entry in
            let (dir0, parentPlacement0) = try locate(parent)
            guard parentPlacement0.type == .directory else { throw .ENOTDIR }
            if try resolve(dir0, parentPlacement0, name) != nil { throw .EEXIST }
            try ensureUpperDirectory(parent)
            let (dir, parentPlacement) = try locate(parent)
            let path = dir.appending(name)
            let hidden = try Self.probe(upper, dir, name)
            // (Not `try?`: a failed stat taken for "no whiteout device" would make the final
            // rename fail with EEXIST.)
            let charWhiteout: Bool
            if case .whiteout = hidden { charWhiteout = try Self.statIfPresent(upper, path)?.isWhiteoutDevice == true } else {
                charWhiteout = false
            }
            let work = Place.work(tempName())
            var st = FileStat()
            do throws(Errno) {
                try build(upper, work, path)
                // Mode first (umask or the parent's default ACL), so that an upper keeping owners
                // in its override xattr records the final mode with the owner.
                if setOwner && type != .symlink {
                    try applyCreationMode(upper, work, parentDir: dir, isDirectory: type == .directory, umask: caller.umask)
                }
                if setOwner {
                    let parentStat = try storedOwnership(upper, .tree(dir))
                    let setgidDir = parentStat.permissions & ModeBits.setGID != 0
                    let gid = setgidDir ? parentStat.gid : try storageGID(caller.gid)
                    // chown clears setuid/setgid: the mode as built is put back afterwards.
                    let built = try storedOwnership(upper, work).permissions
                    try storeOwner(upper, work, uid: try storageUID(caller.uid), gid: gid)
                    let wanted = type == .directory && setgidDir ? built | ModeBits.setGID : built
                    if type != .symlink, try storedOwnership(upper, work).permissions != wanted {
                        try storeMode(upper, work, wanted)
                    }
                }
                if type == .directory {
                    if case .whiteout = hidden {
                        try setOpaque(upper, work)
                    } else if try lowerHasName(dir, parentPlacement, name) {
                        try setOpaque(upper, work)
                    }
                }
                // Stat before the rename that makes the object visible: after it, nothing may fail.
                st = try upper.stat(work)
                try moveIntoPlace(upper, work, path, overWhiteoutDevice: charWhiteout, isDirectory: type == .directory)
            } catch {
                try? upper.removeTree(work)
                throw error
            }
            if case .whiteout = hidden, !charWhiteout, let wh = Markers.whiteoutName(for: name) {
                try? upper.unlink(.tree(dir.appending(wh)))
            }
            trace("create \(path) \(type)")
            // The stat after the rename (it changed ctime) if it can be had; else the one before.
            if let final = try? upper.stat(.tree(path)) { st = final }
            let placement = Placement(upper: true, lowers: [], type: type)
            let id = state.withLock { $0.remember(parent: parent, name: name, placement: placement) }
            return Entry(node: id, generation: 1, attr: visibleStat(st, placement, at: path))
        }
    }

    /// The stat of `path` in `layer`, nil if nothing is there (other errors are thrown).
    static func statIfPresent(_ layer: any UpperLayer, _ path: RelPath) throws(Errno) -> FileStat? {
        do { return try layer.stat(.tree(path)) } catch {
            if error == .ENOENT { return nil }
            throw error
        }
    }

    /// Renames a finished work object to `path`, replacing a whiteout device there if any
    /// (a directory cannot replace a non-directory, so it is exchanged and the whiteout removed).
    func moveIntoPlace(_ upper: any UpperLayer, _ work: Place, _ path: RelPath, overWhiteoutDevice: Bool, isDirectory: Bool) throws(Errno) {
        if !overWhiteoutDevice {
            try upper.rename(from: work, to: .tree(path), flags: .noReplace)
        } else if isDirectory {
            try upper.rename(from: work, to: .tree(path), flags: .exchange)
            // Done: the object is in place. The whiteout left in the work directory is removed
            // now if possible, else at the next mount.
            try? upper.removeTree(work)
        } else {
            try upper.rename(from: work, to: .tree(path), flags: [])
        }
    }

    /// Marks a directory opaque: the kernel's trusted xattr, or fuse-overlayfs's user xattr where
    /// trusted xattrs cannot be written.
    func setOpaque(_ upper: any UpperLayer, _ place: Place) throws(Errno) {
        var last = Errno.EOPNOTSUPP
        for name in Markers.opaqueWrite {
            do {
                try upper.setXattr(place, name, Markers.yes, flags: [])
                return
            } catch {
                last = error
                guard error == .EPERM || error == .EOPNOTSUPP || error == .EACCES else { throw error }
            }
        }
        throw last
    }
}
