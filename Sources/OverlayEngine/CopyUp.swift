import LayerAPI

/// Copy-up (the kernel's copy_up.c): bring a lower object into the upper layer before it is
/// changed. Parents first; the copy is built in the work directory (a regular file's in an
/// unnamed file where the upper can, see `CopyTarget`) and then put in place, so a crash leaves
/// either nothing or the whole copy; the parent's times are restored afterwards.
extension OverlayFS {
    /// Makes sure `node` exists in the upper layer. `skipData`: the caller is about to truncate
    /// the file to 0 (O_TRUNC, truncate(0)), so its data need not be copied.
    /// `truncating`: the caller is truncate(2) to 0; the finished copy is truncated before it is
    /// installed, so the upper filesystem sets its times as for a truncate after the copy-up.
    /// Returns true when this call made the copy (with `skipData`: an empty file).
    @discardableResult
    func copyUp(_ node: NodeID, skipData: Bool, truncating: Bool = false) throws(Errno) -> Bool {
        let (_, placement) = try locate(node)
        if placement.upper {
            if placement.data != nil { return try copyUpData(node, skipData: skipData) }
            return false
        }
        if placement.type == .directory {
            try namespace.withLock { _ throws(Errno) in try ensureUpperDirectory(node) }
            return true
        }
        // Parents first (cheap: directories carry no data).
        let parent = try state.withLock { s throws(Errno) -> NodeID in
            guard let n = s.nodes[node] else { throw .ENOENT }
            return n.parent
        }
        try namespace.withLock { _ throws(Errno) in try ensureUpperDirectory(parent) }
        return try gates[Int(node % UInt64(gates.count))].lock.withLock { _ throws(Errno) -> Bool in
            try copyUpLocked(node, skipData: skipData, truncating: truncating)
        }
    }

    /// Under the node's gate: copy the data into a work file, then put it in place.
    private func copyUpLocked(_ node: NodeID, skipData: Bool, truncating: Bool) throws(Errno) -> Bool {
        let upper = try writable()
        let (path, placement) = try locate(node)
        if placement.upper { return false }  // another thread did it while we waited
        guard let li = placement.lowers.first, li < lowers.count else {
            warn("copy-up of \(path): no lower layer")
            throw .EIO
        }
        let lower = lowers[li]
        let lowerPath = placement.lower(path)
        let st = try lower.stat(lowerPath)
        var target = CopyTarget.named(.work(tempName()))
        if st.type == .regular, let unnamed = try upper.createUnnamed(mode: 0o600) { target = .unnamed(unnamed) }
        do {
            try buildCopy(of: lowerPath, in: lower, override: lowerOverride[li], stat: st, into: target, upper: upper, skipData: skipData)
            if truncating && st.type == .regular { try target.truncate(upper, size: 0) }
            // Best effort (only inode numbers depend on it): the first name the upper takes.
            for name in Markers.originXattrs {
                if (try? target.setXattr(upper, name, lowerPath.bytes)) != nil { break }
            }
            // Stat now: once in place, nothing may fail (the copy would be visible while the
            // node still says "lower").
            let copied = try target.stat(upper)
            try namespace.withLock { _ throws(Errno) in
                // Still the same object at the same place? (It may have been removed meanwhile.)
                let (now, nowPlacement) = try locate(node)
                guard now == path, !nowPlacement.upper else { throw .ENOENT }
                try installCopy(target, at: path, upper: upper, node: node, lowerStat: st, copied: copied) {
                    $0 = Placement(upper: true, lowers: [], type: placement.type, lowerPath: $0.lowerPath)
                }
            }
            trace("copy-up \(path) from lower \(li)")
            return true
        } catch {
            target.discard(upper)
            throw error
        }
    }

    /// The last step of every copy-up, under `namespace`: puts the finished copy in place, puts
    /// the parent's times back (the copy-up itself must not change them), and records
    /// the node as upper (`update` changes its placement) under the inode number it showed before.
    /// Nothing can fail after the rename.
    func installCopy(
        _ target: CopyTarget, at path: RelPath, upper: any UpperLayer, node: NodeID?, lowerStat st: FileStat,
        copied: FileStat, update: (inout Placement) -> Void
    ) throws(Errno) {
        let parentPath = path.parent
        let parentTimes = try? upper.stat(.tree(parentPath))
        try target.install(upper, at: path)
        if let pt = parentTimes {
            try? upper.setTimes(.tree(parentPath), access: .set(pt.atime), modification: .set(pt.mtime))
        }
        state.withLock { s in
            let shown = s.inodes.visible(dev: st.dev, ino: st.ino)
            s.inodes.keep(dev: copied.dev, ino: copied.ino, as: shown)
            if let node, var n = s.nodes[node] {
                update(&n.placement)
                s.nodes[node] = n
            }
        }
        if let node { markStale(node) }
        copyUps.add(1, ordering: .relaxed)
    }

    /// Creates at `work` a copy of the object at `path` of `lower`: content, owner, xattrs, mode,
    /// times — in that order (a write or a chown clears security.capability, even for root; a
    /// chown clears setuid bits, which the chmod then restores). `metadataOnly`: a regular file
    /// gets its size as a hole, no data (metacopy).
    func buildCopy(
        of path: RelPath, in lower: any Layer, override: [UInt8]?, stat st: FileStat, into target: CopyTarget,
        upper: any UpperLayer, skipData: Bool, metadataOnly: Bool = false
    ) throws(Errno) {
        switch (st.type, target) {
        case (.regular, _):
            let (dst, owned) = try target.dataFile(upper)
            defer { if owned { dst.close() } }
            if !skipData && st.size > 0 {
                let src = try lower.open(path, .readOnly)
                defer { src.close() }
                try copyData(from: src, to: dst, size: st.size)
            }
            if !skipData || metadataOnly { try dst.truncate(st.size) }
            if options.fsync && !metadataOnly { try dst.sync(dataOnly: false) }  // no data: nothing to sync
        case (.directory, .named(let work)):
            try upper.mkdir(work, mode: 0o700)
        case (.symlink, .named(let work)):
            try upper.symlink(work, target: try lower.readLink(path))
        case (.fifo, .named(let work)), (.socket, .named(let work)), (.characterDevice, .named(let work)),
            (.blockDevice, .named(let work)):
            try upper.mknod(work, mode: st.mode, rdev: st.rdev)
        case (.unknown, _), (_, .unnamed):
            warn("copy-up of \(path): file type \(st.mode) cannot be built as \(target)")
            throw .EIO
        }
        // Owner before xattrs (a chown clears security.capability), mode after both. The owner is
        // the one the lower stores (its override xattr if it keeps one), stored the way the
        // upper keeps owners: for real, or in its own override xattr.
        var owner = OverrideStat(st)
        if let override, let v = try? lower.getXattr(path, override), let o = OverrideStat(parsing: v) { owner = o }
        if let name = upperOverride {
            try copyXattrs(from: lower, path, to: upper, target)
            if st.type != .symlink { try target.chmod(upper, mode: st.permissions) }
            try target.setXattr(upper, name, owner.bytes)
        } else {
            try target.chown(upper, uid: owner.uid, gid: owner.gid)
            try copyXattrs(from: lower, path, to: upper, target)
            if st.type != .symlink { try target.chmod(upper, mode: owner.permissions) }
        }
        try target.setTimes(upper, access: .set(st.atime), modification: .set(st.mtime))
    }

    /// Copies every xattr except the overlay's private ones.
    func copyXattrs(from lower: any Layer, _ path: RelPath, to upper: any UpperLayer, _ target: CopyTarget) throws(Errno) {
        let names: [[UInt8]]
        do { names = try lower.listXattr(path) } catch {
            if error == .EOPNOTSUPP { return }
            throw error
        }
        for name in names where !Markers.isPrivateXattr(name) {
            let value: [UInt8]
            do { value = try lower.getXattr(path, name) } catch {
                if error == .ENODATA { continue }
                throw error
            }
            do { try target.setXattr(upper, name, value) } catch {
                // The upper filesystem may not support a namespace the lower has.
                if error == .EOPNOTSUPP { continue }
                throw error
            }
        }
    }

    /// Copies file data, skipping holes so sparse files stay sparse: in the kernel when both files
    /// are real descriptors (copy_file_range), else through a buffer.
    func copyData(from src: any LayerFile, to dst: any LayerFile, size: Int64) throws(Errno) {
        var offset: Int64 = 0
        while offset < size {
            guard let dataStart = try src.nextData(from: offset) else { break }
            let holeStart = min(try src.nextHole(from: dataStart), size)
            try copyRange(from: src, to: dst, start: dataStart, end: holeStart)
            bytesCopied.add(Int(holeStart - dataStart), ordering: .relaxed)
            offset = holeStart
        }
    }

    private func copyRange(from src: any LayerFile, to dst: any LayerFile, start: Int64, end: Int64) throws(Errno) {
        var pos = start
        let chunk = 1 << 20
        if let n = try src.copy(to: dst, from: pos, to: pos, length: Int(min(Int64(chunk), end - pos))) {
            guard n > 0 else { return }
            pos += Int64(n)
            while pos < end {
                guard let m = try src.copy(to: dst, from: pos, to: pos, length: Int(min(Int64(chunk), end - pos))),
                    m > 0
                else { break }
                pos += Int64(m)
            }
            if pos >= end { return }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        while pos < end {
            let want = Int(min(Int64(chunk), end - pos))
            let got = try src.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: pos)
            if got == 0 { break }
            var done = 0
            while done < got {
                let w = try dst.write(UnsafeRawBufferPointer(rebasing: buffer[done..<got]), at: pos + Int64(done))
                guard w > 0 else { throw .EIO }
                done += w
            }
            pos += Int64(got)
        }
    }

    /// Under `namespace`: makes directory `node` (and its parents) exist in the upper layer, with
    /// the lower directory's owner, mode, times and xattrs.
    func ensureUpperDirectory(_ node: NodeID) throws(Errno) {
        let upper = try writable()
        let (path, placement) = try locate(node)
        if placement.upper { return }
        guard placement.type == .directory else { throw .ENOTDIR }
        let parent = try state.withLock { s throws(Errno) -> NodeID in
            guard let n = s.nodes[node] else { throw .ENOENT }
            return n.parent
        }
        if node != 1 { try ensureUpperDirectory(parent) }
        try copyUpDirectory(at: path, placement, node: node, upper: upper)
    }

    /// Under `namespace`, its parent already in the upper layer: copies the lower directory
    /// with `placement` (lower path derived) up to `path`, the directory alone; `node`, if known,
    /// is then recorded as upper.
    func copyUpDirectory(at path: RelPath, _ placement: Placement, node: NodeID?, upper: any UpperLayer) throws(Errno) {
        guard let li = placement.lowers.first, li < lowers.count else {
            warn("directory copy-up of \(path): no lower layer")
            throw .EIO
        }
        let lower = lowers[li]
        let lowerPath = placement.lower(path)
        let st = try lower.stat(lowerPath)
        let work = Place.work(tempName())
        do {
            try buildCopy(of: lowerPath, in: lower, override: lowerOverride[li], stat: st, into: .named(work), upper: upper, skipData: true)
            let copied = try upper.stat(work)  // before the rename: after it nothing may fail
            try installCopy(.named(work), at: path, upper: upper, node: node, lowerStat: st, copied: copied) { $0.upper = true }
            trace("copy-up dir \(path)")
        } catch {
            try? upper.removeTree(work)
            throw error
        }
    }

    /// An upper non-directory first seen in this mount (`real` is its upper stat) that copy-up made
    /// in an earlier mount keeps showing the inode number of its origin, as with kernel overlayfs
    /// (whose origin is a file handle): the lower object at the path in its origin xattr, if one
    /// of the same type is still there.
    func adoptOrigin(_ path: RelPath, _ real: FileStat) {
        guard let upper, !real.isDirectory, !lowers.isEmpty,
            state.withLock({ $0.inodes.needsOriginCheck(dev: real.dev, ino: real.ino) }),
            let value = Markers.originXattrs.lazy.compactMap({ try? upper.getXattr(.tree(path), $0) }).first
        else { return }
        var components: [Name] = []
        for piece in value.split(separator: 0x2F, omittingEmptySubsequences: true) {
            guard let name = Name(Array(piece)), !Markers.isReservedName(name) else { return }
            components.append(name)
        }
        guard !components.isEmpty else { return }
        let origin = RelPath(components)
        for layer in lowers {
            guard let st = try? layer.stat(origin) else { continue }
            guard st.type == real.type, !st.isWhiteoutDevice else { return }
            state.withLock { s in
                let shown = s.inodes.visible(dev: st.dev, ino: st.ino)
                s.inodes.keep(dev: real.dev, ino: real.ino, as: shown)
            }
            trace("origin of \(path): \(origin)")
            return
        }
    }
}
