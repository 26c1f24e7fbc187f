import LayerAPI

/// rename and RENAME_EXCHANGE / RENAME_NOREPLACE. Anything but a directory with lower layers is
/// copied up first and moved in the upper layer, leaving a whiteout where a lower object would
/// otherwise show through. A directory with lower layers is moved with a redirect when
/// redirect_dir is on (Redirect.swift), else refused with EXDEV (as kernel overlayfs without
/// redirect_dir: `mv` then copies).
extension OverlayFS {
    public func rename(parent: NodeID, name: Name, newParent: NodeID, newName: Name, flags: RenameFlags) throws(Errno) {
        let upper = try writable()
        guard flags.subtracting([.noReplace, .exchange]).isEmpty, flags != [.noReplace, .exchange] else { throw .EINVAL }
        if Markers.isReservedName(name) { throw .ENOENT }
        if Markers.isReservedName(newName) { throw .EINVAL }
        // Copy up non-directories first, outside the namespace lock (data may be large).
        try copyUpByName(parent, name)
        if flags.contains(.exchange) { try copyUpByName(newParent, newName) }

        try namespace.withLock { _ throws(Errno) in
            let (sdir, spl) = try locate(parent)
            let (ddir, dpl) = try locate(newParent)
            guard spl.type == .directory, dpl.type == .directory else { throw .ENOTDIR }
            guard let (found, sst) = try resolve(sdir, spl, name) else { throw .ENOENT }
            var src = found
            let dstFound = try resolve(ddir, dpl, newName)
            let spath = sdir.appending(name)
            let dpath = ddir.appending(newName)
            let srcRedirects = src.type == .directory && !src.lowers.isEmpty
            if srcRedirects && options.redirectDir != .on { throw .EXDEV }
            if spath == dpath { return }
            let sameDirectory = parent == newParent
            if flags.contains(.exchange) {
                guard let (dstNow, _) = dstFound else { throw .ENOENT }
                var dst = dstNow
                let dstRedirects = dst.type == .directory && !dst.lowers.isEmpty
                if dstRedirects && options.redirectDir != .on { throw .EXDEV }
                try ensureUpperDirectory(parent)
                try ensureUpperDirectory(newParent)
                if srcRedirects { src = try copyUpForMove(parent, name, spath, src) }
                if dstRedirects { dst = try copyUpForMove(newParent, newName, dpath, dst) }
                guard src.upper, dst.upper else { throw .EXDEV }
                let srcOpaque = src.type == .directory && !srcRedirects ? try lowerHasName(ddir, dpl, newName) : false
                let dstOpaque = dst.type == .directory && !dstRedirects ? try lowerHasName(sdir, spl, name) : false
                try recordRedirect(upper, spath, src.data)
                try recordRedirect(upper, dpath, dst.data)
                if srcRedirects { try setDirectoryRedirect(upper, spath, src, sameDirectory: sameDirectory) }
                if dstRedirects { try setDirectoryRedirect(upper, dpath, dst, sameDirectory: sameDirectory) }
                // Marked before the exchange, so nothing can fail after it (the fuzzer found a
                // failed marker reported as a failed rename that had happened). Where they are
                // now, the marks change nothing: neither directory has a lower counterpart.
                if srcOpaque { try setOpaque(upper, .tree(spath)) }
                if dstOpaque { try setOpaque(upper, .tree(dpath)) }
                try upper.rename(from: .tree(spath), to: .tree(dpath), flags: .exchange)
                trace("rename exchange \(spath) <-> \(dpath)")
                state.withLock { s in
                    s.exchange(parent, name, newParent, newName)
                    // Redirected now: their lower paths no longer follow from their names.
                    if srcRedirects, let id = s.child(newParent, newName) { s.nodes[id]?.placement.lowerPath = src.lower(spath) }
                    if dstRedirects, let id = s.child(parent, name) { s.nodes[id]?.placement.lowerPath = dst.lower(dpath) }
                }
                return
            }
            guard src.upper || srcRedirects else { throw .EXDEV }
            if let (dst, dstStat) = dstFound {
                if flags.contains(.noReplace) { throw .EEXIST }
                if dst.upper && dstStat.dev == sst.dev && dstStat.ino == sst.ino && src.upper {
                    // Two names of one file: rename(2) does nothing and both names stay. The
                    // kernel still moves the source's node to the new name in its dentry cache,
                    // so the table follows; the old name is looked up afresh.
                    state.withLock { s in
                        if let id = s.child(parent, name) { s.move(id, to: newParent, name: newName) }
                    }
                    return
                }
                if src.type == .directory {
                    guard dst.type == .directory else { throw .ENOTDIR }
                    if !(try mergedEntries(dpath, dst).isEmpty) {
                        // The kernel checks a target with lower layers itself; one only in the
                        // upper layer (opaque or not) only the upper rename finds not empty, after the
                        // source was copied up and given its redirect, and after the whiteout
                        // for its old name was prepared (which stamps the old parent's mtime):
                        // so the same here.
                        if srcRedirects && dst.upper && dst.lowers.isEmpty {
                            try ensureUpperDirectory(newParent)
                            src = try copyUpForMove(parent, name, spath, src)
                            try setDirectoryRedirect(upper, spath, src, sameDirectory: sameDirectory)
                            if try lowerHasName(sdir, spl, name) {
                                try? upper.setTimes(.tree(sdir), access: .omit, modification: .now)
                                markStale(parent)
                            }
                        }
                        throw .ENOTEMPTY
                    }
                } else if dst.type == .directory {
                    throw .EISDIR
                }
            }
            try ensureUpperDirectory(newParent)
            if srcRedirects {
                src = try copyUpForMove(parent, name, spath, src)
                try setDirectoryRedirect(upper, spath, src, sameDirectory: sameDirectory)
            }
            let srcNeedsWhiteout = try lowerHasName(sdir, spl, name)
            let dstHasLower = try lowerHasName(ddir, dpl, newName)
            // Clear what the upper holds at the destination but does not show (nothing visible
            // changes), then make the change visible in one rename.
            var dstWhiteoutDevice = false
            if let (dst, _) = dstFound, dst.upper {
                if dst.type == .directory {
                    for e in try upper.readDirectory(.tree(dpath)) { try upper.removeTree(.tree(dpath.appending(e.name))) }
                }
            } else if dstFound == nil, src.type == .directory {
                dstWhiteoutDevice = try Self.statIfPresent(upper, dpath)?.isWhiteoutDevice == true
            }
            // A moved pure upper directory must not merge with what the lowers have at its new
            // name; a redirected one merges with its own lower directories only.
            if src.type == .directory && !srcRedirects && dstHasLower { try setOpaque(upper, .tree(spath)) }
            try recordRedirect(upper, spath, src.data)
            if dstWhiteoutDevice {
                // A directory cannot replace a whiteout device: exchange them, so the whiteout
                // lands at the source (where it is wanted if a lower object shows there).
                try upper.rename(from: .tree(spath), to: .tree(dpath), flags: .exchange)
                if !srcNeedsWhiteout { try? upper.unlink(.tree(spath)) }
            } else if srcNeedsWhiteout, case let dstInUpper = try Self.statIfPresent(upper, dpath) != nil,
                let wh = try makeWhiteoutDevice(upper)
            {
                try moveLeavingWhiteout(upper, spath, dpath, dstInUpper: dstInUpper, whiteout: wh)
            } else {
                try upper.rename(from: .tree(spath), to: .tree(dpath), flags: [])
                if srcNeedsWhiteout { try placeWhiteout(upper, spath, replacing: .nothing) }
            }
            if let (_, dstStat) = dstFound, dstFound?.0.upper == true, dstStat.nlink <= 1 {
                state.withLock { $0.inodes.drop(dev: dstStat.dev, ino: dstStat.ino) }
            }
            if let wh = Markers.whiteoutName(for: newName) { try? upper.unlink(.tree(ddir.appending(wh))) }
            trace("rename \(spath) -> \(dpath)")
            let moved = Placement(
                upper: true, lowers: srcRedirects ? src.lowers : [], type: src.type, data: src.data,
                lowerPath: srcRedirects ? src.lower(spath) : nil)
            state.withLock { s in
                if let id = s.child(parent, name) {
                    s.move(id, to: newParent, name: newName)
                    s.nodes[id]?.placement = moved
                } else if let other = s.child(newParent, newName) {
                    s.detach(other)
                }
            }
        }
    }

    /// Moves `spath` to `dpath` leaving the whiteout `wh` (a work place) at `spath`, ordered so
    /// that a failure at any step is undone and a crash between steps loses nothing (the work
    /// directory is emptied at mount, so the source is never parked there): the source takes
    /// the destination name first (by exchange when the upper holds something there), then the
    /// whiteout takes the source name.
    private func moveLeavingWhiteout(
        _ upper: any UpperLayer, _ spath: RelPath, _ dpath: RelPath, dstInUpper: Bool, whiteout wh: Place
    ) throws(Errno) {
        do {
            try upper.rename(from: .tree(spath), to: .tree(dpath), flags: dstInUpper ? .exchange : .noReplace)
        } catch {
            try? upper.unlink(wh)
            throw error
        }
        do {
            // The old destination (now at spath) goes to the work directory and is removed.
            try upper.rename(from: wh, to: .tree(spath), flags: dstInUpper ? .exchange : .noReplace)
        } catch {
            if (try? upper.rename(from: .tree(dpath), to: .tree(spath), flags: dstInUpper ? .exchange : .noReplace)) != nil {
                try? upper.unlink(wh)
            }
            throw error
        }
        if dstInUpper { try? upper.removeTree(wh) }
    }

    /// Copies up the non-directory at (parent, name), if it is not in the upper layer yet.
    private func copyUpByName(_ parent: NodeID, _ name: Name) throws(Errno) {
        if let id = state.withLock({ $0.child(parent, name) }) {
            let (_, placement) = try locate(id)
            if placement.type != .directory && !placement.upper { try copyUpMetadata(id) }
            return
        }
        let entry: Entry
        do { entry = try lookup(parent: parent, name: name) } catch {
            if error == .ENOENT { return }  // reported properly under the lock
            throw error
        }
        defer { forget(entry.node, lookups: 1) }
        let (_, placement) = try locate(entry.node)
        if placement.type != .directory && !placement.upper { try copyUpMetadata(entry.node) }
    }
}
