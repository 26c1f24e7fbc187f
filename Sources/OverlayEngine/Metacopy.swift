import LayerAPI

/// Metadata-only copy-up (kernel overlayfs `metacopy=on`, in its on-disk format). A metadata
/// change of a lower regular file (chown, chmod, utimens, setxattr, removexattr, link, rename)
/// copies up only the inode: an upper file with the lower's owner, mode, times and xattrs, its
/// size as a hole, and the marker `trusted.overlay.metacopy` (empty value, as the kernel writes).
/// Its data stays in the lower file at the same path, or at the path in
/// `trusted.overlay.redirect` ("/a/b" from the root, or a bare name in the same directory, as
/// the kernel writes after a rename). The first open for write or truncate copies the data into
/// the upper file in place and only then drops the marker, so a crash leaves either a marked
/// file (data still read from the lower) or a complete one.
extension OverlayFS {
    static let metacopyXattrs: [[UInt8]] = [
        Array("trusted.overlay.metacopy".utf8),
        Array("user.overlay.metacopy".utf8),
    ]
    static let redirectXattrs: [[UInt8]] = [
        Array("trusted.overlay.redirect".utf8),
        Array("user.overlay.redirect".utf8),
    ]
    static let capabilityXattr: [UInt8] = Array("security.capability".utf8)

    /// For an upper regular file at `path` in a directory whose lower directories are at
    /// `lowerDir`: where its data lives if it is a metacopy file, else nil. EIO (as the kernel)
    /// when it is marked but no lower file holds its data.
    func metacopyData(_ path: RelPath, lowerDir: RelPath) throws(Errno) -> LowerData? {
        guard let upper, !lowers.isEmpty, let name = path.last else { return nil }
        guard Self.metacopyXattrs.contains(where: { (try? upper.getXattr(.tree(path), $0)) != nil }) else { return nil }
        var target = lowerDir.appending(name)
        if let redirect = Self.redirectXattrs.lazy.compactMap({ try? upper.getXattr(.tree(path), $0) }).first {
            guard let p = Self.redirectTarget(redirect, from: target) else {
                warn("metacopy \(path): bad redirect")
                throw .EIO
            }
            target = p
        }
        guard let data = findLowerData(target) else {
            warn("metacopy \(path): no lower data at \(target)")
            throw .EIO
        }
        return data
    }

    /// The lower path a redirect value names: "/a/b" from the root, "b" next to `path` (the
    /// lower path the object would have without it).
    static func redirectTarget(_ value: [UInt8], from path: RelPath) -> RelPath? {
        let absolute = value.first == 0x2F
        var components: [Name] = []
        for piece in value.split(separator: 0x2F, omittingEmptySubsequences: true) {
            guard let name = Name(Array(piece)), !Markers.isReservedName(name) else { return nil }
            components.append(name)
        }
        if absolute { return components.isEmpty ? nil : RelPath(components) }
        guard components.count == 1, let name = components.first else { return nil }
        return path.parent.appending(name)
    }

    /// The topmost lower regular file at `path` (a whiteout above it hides it).
    func findLowerData(_ path: RelPath) -> LowerData? {
        guard let name = path.last else { return nil }
        for (i, layer) in lowers.enumerated() {
            guard let answer = try? Self.probe(layer, path.parent, name) else { continue }
            switch answer {
            case .absent: continue
            case .whiteout: return nil
            case .found(let st): return st.type == .regular ? LowerData(layer: i, path: path) : nil
            }
        }
        return nil
    }

    /// A metacopy file first seen in this mount shows the inode number of its data's lower file
    /// (as `adoptOrigin` does for a full copy, and as the kernel does).
    func adoptDataOrigin(_ data: LowerData, _ real: FileStat) {
        guard data.layer < lowers.count, state.withLock({ $0.inodes.needsOriginCheck(dev: real.dev, ino: real.ino) }),
            let st = try? lowers[data.layer].stat(data.path)
        else { return }
        state.withLock { s in
            let shown = s.inodes.visible(dev: st.dev, ino: st.ino)
            s.inodes.keep(dev: real.dev, ino: real.ino, as: shown)
        }
    }

    /// st_blocks of a metacopy file: those of its data, as the kernel reports.
    func metacopyBlocks(_ data: LowerData, _ fallback: Int64) -> Int64 {
        guard data.layer < lowers.count, let st = try? lowers[data.layer].stat(data.path) else { return fallback }
        return st.blocks
    }

    /// Before a metadata change: brings `node` into the upper layer, metadata only when
    /// metacopy is on and it is a lower regular file, else by a full copy-up.
    func copyUpMetadata(_ node: NodeID) throws(Errno) {
        let (_, placement) = try locate(node)
        if placement.upper { return }
        guard options.metacopy, placement.type == .regular else {
            try copyUp(node, skipData: false)
            return
        }
        let parent = try state.withLock { s throws(Errno) -> NodeID in
            guard let n = s.nodes[node] else { throw .ENOENT }
            return n.parent
        }
        try namespace.withLock { _ throws(Errno) in try ensureUpperDirectory(parent) }
        try gates[Int(node % UInt64(gates.count))].lock.withLock { _ throws(Errno) in
            try metacopyLocked(node)
        }
    }

    /// Under the node's gate: the metadata-only copy, built in the work directory and renamed
    /// into place with its marker already set.
    private func metacopyLocked(_ node: NodeID) throws(Errno) {
        let upper = try writable()
        let (path, placement) = try locate(node)
        if placement.upper { return }
        guard let li = placement.lowers.first, li < lowers.count else {
            warn("metacopy of \(path): no lower layer")
            throw .EIO
        }
        let lower = lowers[li]
        let lowerPath = placement.lower(path)
        let st = try lower.stat(lowerPath)
        let work = Place.work(tempName())
        do {
            try buildCopy(
                of: lowerPath, in: lower, override: lowerOverride[li], stat: st, into: .named(work), upper: upper, skipData: true,
                metadataOnly: true)
            // No origin xattr: the data's path (or the redirect) names the origin, and one xattr
            // fits in the inode (ext4), so the copy takes no disk block.
            try setPrivate(upper, work, Self.metacopyXattrs, [])
            // Stat now: once renamed into place, nothing may fail (see copyUpLocked).
            let copied = try upper.stat(work)
            try namespace.withLock { _ throws(Errno) in
                let (now, nowPlacement) = try locate(node)
                guard now == path, !nowPlacement.upper else { throw .ENOENT }
                try installCopy(.named(work), at: path, upper: upper, node: node, lowerStat: st, copied: copied) {
                    $0 = Placement(upper: true, lowers: [], type: .regular, data: LowerData(layer: li, path: lowerPath))
                }
            }
            trace("metacopy \(path) from lower \(li)")
        } catch {
            try? upper.removeTree(work)
            throw error
        }
    }

    /// Copies the data of metacopy `node` into its upper file (nothing but a truncation to 0
    /// when `skipData`), then drops the marker. The gate is chosen by the upper inode, not the
    /// node: hard links are different nodes of one file, and must not copy into it at once.
    /// Returns true when this call brought the data up (with `skipData`: made the file empty).
    func copyUpData(_ node: NodeID, skipData: Bool) throws(Errno) -> Bool {
        let upper = try writable()
        let (path, _) = try locate(node)
        let ino = try upper.stat(.tree(path)).ino
        return try gates[Int(ino % UInt64(gates.count))].lock.withLock { _ throws(Errno) -> Bool in
            try copyUpDataLocked(node, skipData: skipData)
        }
    }

    private func copyUpDataLocked(_ node: NodeID, skipData: Bool) throws(Errno) -> Bool {
        let upper = try writable()
        let (path, placement) = try locate(node)
        guard placement.upper, let data = placement.data else { return false }
        let place = Place.tree(path)
        guard hasMetacopyMarker(upper, place) else {
            // Another name of the same file (a hard link) brought the data up already.
            state.withLock { $0.nodes[node]?.placement.data = nil }
            return false
        }
        guard data.layer < lowers.count else {
            warn("metacopy \(path): no lower layer \(data.layer)")
            throw .EIO
        }
        let before = try upper.stat(place)
        let capability = try? upper.getXattr(place, Self.capabilityXattr)
        let dst = try upper.open(place, .readWrite)
        defer { dst.close() }
        if skipData {
            try dst.truncate(0)
        } else if before.size > 0 {
            let src = try lowers[data.layer].open(data.path, .readOnly)
            defer { src.close() }
            try copyData(from: src, to: dst, size: before.size)
        }
        // The data is durable before the marker goes (a crash in between keeps the marker).
        if options.fsync { try dst.sync(dataOnly: false) }
        try namespace.withLock { _ throws(Errno) in
            let (now, _) = try locate(node)
            let at = Place.tree(now)
            // A write clears security.capability, even for root; the times are the metadata's.
            if let capability { try upper.setXattr(at, Self.capabilityXattr, capability, flags: []) }
            if !skipData {
                try upper.setTimes(at, access: .set(before.atime), modification: .set(before.mtime))
            }
            // Now a full copy: later mounts find its origin as for any copy-up.
            for name in Markers.originXattrs {
                if (try? upper.setXattr(at, name, data.path.bytes, flags: [])) != nil { break }
            }
            for name in Self.metacopyXattrs { try? upper.removeXattr(at, name) }
            state.withLock { $0.nodes[node]?.placement.data = nil }
        }
        markStale(node)
        copyUps.add(1, ordering: .relaxed)
        trace("metacopy data \(path) from lower \(data.layer)")
        return true
    }

    func hasMetacopyMarker(_ upper: any UpperLayer, _ place: Place) -> Bool {
        Self.metacopyXattrs.contains { (try? upper.getXattr(place, $0)) != nil }
    }

    /// A read of a metacopy file opens its lower data, unless the marker has gone meanwhile
    /// (the data came up through another name of the file).
    func openMetacopyData(_ node: NodeID, _ path: RelPath, _ data: LowerData, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        if let upper, !hasMetacopyMarker(upper, .tree(path)) {
            state.withLock { $0.nodes[node]?.placement.data = nil }
            return try upper.open(.tree(path), flags)
        }
        guard data.layer < lowers.count else { throw .EIO }
        return try lowers[data.layer].open(data.path, .readOnly)
    }

    /// Before a metacopy file at `path` moves to another name: records where its data lives
    /// (an absolute redirect, which the kernel follows too). Nothing for other files.
    func recordRedirect(_ upper: any UpperLayer, _ path: RelPath, _ data: LowerData?) throws(Errno) {
        guard let data else { return }
        try setPrivate(upper, .tree(path), Self.redirectXattrs, [0x2F] + data.path.bytes)
    }

    /// Before `link`: the object in the upper layer (metadata only when metacopy applies) and,
    /// for a metacopy file, a redirect so that the new name finds the data too.
    func prepareLink(_ node: NodeID) throws(Errno) {
        try copyUpMetadata(node)
        let (path, placement) = try locate(node)
        if let upper, placement.data != nil {
            try namespace.withLock { _ throws(Errno) in
                let (now, p) = try locate(node)
                guard now == path else { throw .ENOENT }
                try recordRedirect(upper, now, p.data)
            }
        }
    }

    /// After `link`: the new name of a metacopy file shares its data.
    func linked(_ new: NodeID, from node: NodeID) {
        state.withLock { s in
            guard let data = s.nodes[node]?.placement.data, s.nodes[new]?.placement.type == .regular else { return }
            s.nodes[new]?.placement.data = data
        }
    }

    /// Sets one of the overlay's private xattrs: the kernel's trusted name, or its user name
    /// where trusted xattrs cannot be written.
    func setPrivate(_ upper: any UpperLayer, _ place: Place, _ names: [[UInt8]], _ value: [UInt8]) throws(Errno) {
        var last = Errno.EOPNOTSUPP
        for name in names {
            do {
                try upper.setXattr(place, name, value, flags: [])
                return
            } catch {
                last = error
                guard error == .EPERM || error == .EOPNOTSUPP || error == .EACCES else { throw error }
            }
        }
        throw last
    }
}
