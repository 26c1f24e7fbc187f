import LayerAPI

/// getattr / setattr and the translation of a layer's stat into what the mount shows.
extension OverlayFS {
    /// The stat shown through the mount for an object with `placement` at `path` whose
    /// providing layer object has stat `real`: stat override applied, ids mapped (or squashed),
    /// inode number made unique.
    func visibleStat(_ real: FileStat, _ placement: Placement, at path: RelPath?) -> FileStat {
        var st = real
        if let path, let o = storedOverride(placement, path) { st = o.applied(to: st) }
        st.ino = shownIno(state.withLock { $0.inodes.visible(dev: real.dev, ino: real.ino) })
        st.uid = options.squashUID ?? options.uidMap.toVisible(st.uid)
        st.gid = options.squashGID ?? options.gidMap.toVisible(st.gid)
        // A merged directory's link count cannot be known without reading every layer; like
        // kernel overlayfs, report 1 ("unknown", which also turns off find's leaf optimisation).
        if placement.type == .directory
            && (options.staticNlink || (placement.lowers.count + (placement.upper ? 1 : 0)) > 1)
        {
            st.nlink = 1
        }
        return st
    }

    /// An inode number as shown (folded into 32 bits with ino32_t; never 0).
    func shownIno(_ ino: UInt64) -> UInt64 {
        guard options.ino32 else { return ino }
        let folded = UInt64(UInt32(truncatingIfNeeded: ino ^ (ino >> 32)))
        return folded == 0 ? 1 : folded
    }

    /// The visible stat of a node found at `path`.
    func statNode(_ path: RelPath, _ placement: Placement) throws(Errno) -> FileStat {
        var real = try providingLayer(placement).stat(placement.providing(path))
        if let data = placement.data { real.blocks = metacopyBlocks(data, real.blocks) }
        return visibleStat(real, placement, at: path)
    }

    public func getattr(_ node: NodeID) throws(Errno) -> FileStat {
        do {
            let st = try namespace.stable { () throws(Errno) -> FileStat in
                let (path, placement) = try locate(node)
                return try statNode(path, placement)
            }
            state.withLock { s in if s.nodes[node]?.attrsStale == true { s.nodes[node]?.attrsStale = false } }
            return st
        } catch {
            guard error == .ENOENT, let st = try statThroughHandle(node) else { throw error }
            return st
        }
    }

    /// fstat of an open file of a node that is no longer reachable by name (open-unlink-stat).
    func statThroughHandle(_ node: NodeID) throws(Errno) -> FileStat? {
        let found = state.withLock { s -> (any LayerFile, Placement)? in
            guard let n = s.nodes[node], let f = s.files.values.first(where: { $0.node == node }) else { return nil }
            return (f.file, n.placement)
        }
        guard let (file, placement) = found else { return nil }
        return visibleStat(try file.stat(), placement, at: nil)
    }

    public func setattr(_ node: NodeID, _ changes: AttrChanges, handle: HandleID?, caller: Caller) throws(Errno) -> FileStat {
        let upper = try writable()
        // The attributes before, so that a failed stat after the change (which cannot be
        // undone) still lets us answer with what was done rather than an error.
        let before = try getattr(node)
        if changes.isEmpty { return before }
        if let size = changes.size {
            if let handle, let f = try? writableHandleFile(handle) {
                try f.truncate(size)
            } else {
                // A copy-up for truncate(0) truncates its work copy before installing it: one step
                // fewer to fail, and the upper filesystem still stamps the times as for the
                // kernel's copy-up-and-truncate (ext4 does even when the size does not change;
                // found by shiftoverlay-difftest, seed 307).
                let copiedEmpty = try copyUp(node, skipData: size == 0, truncating: size == 0) && size == 0
                if !copiedEmpty {
                    let (path, _) = try locate(node)
                    try upper.truncate(.tree(path), size: size)
                }
            }
        }
        let rest = AttrChanges(mode: changes.mode, uid: changes.uid, gid: changes.gid, atime: changes.atime, mtime: changes.mtime)
        if !rest.isEmpty {
            try copyUpMetadata(node)
            let (path, _) = try locate(node)
            let place = Place.tree(path)
            if rest.uid != nil || rest.gid != nil {
                let uid = try rest.uid.map { (v: UInt32) throws(Errno) -> UInt32 in try storageUID(v) }
                let gid = try rest.gid.map { (v: UInt32) throws(Errno) -> UInt32 in try storageGID(v) }
                try storeOwner(upper, place, uid: uid, gid: gid)
            }
            if let mode = rest.mode { try storeMode(upper, place, mode & ModeBits.permissionMask) }
            if rest.atime != .omit || rest.mtime != .omit {
                try upper.setTimes(place, access: rest.atime, modification: rest.mtime)
            }
            trace("setattr \(place) \(rest)")
        }
        if changes.dropSetID { try dropSetID(node, upper) }
        if let now = try? getattr(node) { return now }
        markStale(node)
        var st = before
        if let mode = changes.mode { st.mode = (st.mode & FileType.formatMask) | (mode & ModeBits.permissionMask) }
        if let uid = changes.uid { st.uid = uid }
        if let gid = changes.gid { st.gid = gid }
        if let size = changes.size { st.size = size }
        if case .set(let t) = changes.atime { st.atime = t }
        if case .set(let t) = changes.mtime { st.mtime = t }
        return st
    }

    /// Clears S_ISUID, and S_ISGID where group-executable, of a non-directory that has them
    /// (copying it up only then: most writers' SETATTR asks this of files without either bit).
    private func dropSetID(_ node: NodeID, _ upper: any UpperLayer) throws(Errno) {
        let st = try getattr(node)
        guard st.type != .directory, st.type != .symlink else { return }
        var mode = st.permissions & ~ModeBits.setUID
        if mode & 0o010 != 0 { mode &= ~ModeBits.setGID }
        guard mode != st.permissions else { return }
        try copyUpMetadata(node)
        let (path, _) = try locate(node)
        try storeMode(upper, .tree(path), mode)
        markStale(node)  // the caller may not answer with attributes (an O_TRUNC open does not)
        trace("setattr upper:\(path) drop setid -> \(String(mode, radix: 8))")
    }

    /// The id stored in the layers for a visible uid/gid. An id outside every mapping range is
    /// stored as the overflow id, as fuse-overlayfs does.
    func storageUID(_ visible: UInt32) throws(Errno) -> UInt32 {
        options.uidMap.toStorage(visible) ?? options.uidMap.overflowID
    }

    func storageGID(_ visible: UInt32) throws(Errno) -> UInt32 {
        options.gidMap.toStorage(visible) ?? options.gidMap.overflowID
    }

    public func readlink(_ node: NodeID) throws(Errno) -> [UInt8] {
        let (path, placement) = try locate(node)
        guard placement.type == .symlink else { throw .EINVAL }
        return try providingLayer(placement).readLink(placement.providing(path))
    }

    public func statfs() throws(Errno) -> FSStat {
        if let upper { return try upper.statfs() }
        guard let first = lowers.first else { throw .EIO }
        return try first.statfs()
    }
}
