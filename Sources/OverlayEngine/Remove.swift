import LayerAPI

/// Removing names (the kernel's dir.c, remove side): unlink, rmdir, and whiteouts.
extension OverlayFS {
    public func unlink(parent: NodeID, name: Name) throws(Errno) {
        let upper = try writable()
        try namespace.withLock { _ throws(Errno) in
            let (dir, parentPlacement) = try locate(parent)
            guard let (placement, st) = try resolve(dir, parentPlacement, name, findData: false) else { throw .ENOENT }
            if placement.type == .directory { throw .EISDIR }
            let path = dir.appending(name)
            let needWhiteout = placement.upper ? try lowerHasName(dir, parentPlacement, name) : true
            if needWhiteout { try ensureUpperDirectory(parent) }
            if placement.upper {
                if needWhiteout {
                    try placeWhiteout(upper, path, replacing: .file)
                } else {
                    try upper.unlink(.tree(path))
                }
            } else {
                try placeWhiteout(upper, path, replacing: .nothing)
            }
            trace("unlink \(path)")
            state.withLock { s in
                if placement.upper && st.nlink <= 1 { s.inodes.drop(dev: st.dev, ino: st.ino) }
                if let id = s.child(parent, name) { s.detach(id) }
            }
        }
    }

    public func rmdir(parent: NodeID, name: Name) throws(Errno) {
        let upper = try writable()
        try namespace.withLock { _ throws(Errno) in
            let (dir, parentPlacement) = try locate(parent)
            guard let (placement, _) = try resolve(dir, parentPlacement, name) else { throw .ENOENT }
            guard placement.type == .directory else { throw .ENOTDIR }
            let path = dir.appending(name)
            if !(try mergedEntries(path, placement).isEmpty) { throw .ENOTEMPTY }
            // A redirected directory's lower directories are elsewhere: whether its name needs
            // a whiteout depends on the parent's lower directories only.
            let redirected = placement.lower(path) != parentPlacement.lower(dir).appending(name)
            var needWhiteout = !placement.lowers.isEmpty && !redirected
            if !needWhiteout { needWhiteout = try lowerHasName(dir, parentPlacement, name) }
            if needWhiteout { try ensureUpperDirectory(parent) }
            if placement.upper {
                if needWhiteout {
                    try placeWhiteout(upper, path, replacing: .directory)
                } else {
                    // What the directory still holds is hidden (whiteouts, markers): removing it
                    // first changes nothing visible, and the rmdir itself is then the one step
                    // that does.
                    for e in try upper.readDirectory(.tree(path)) { try upper.removeTree(.tree(path.appending(e.name))) }
                    try upper.rmdir(.tree(path))
                }
            } else {
                try placeWhiteout(upper, path, replacing: .nothing)
            }
            trace("rmdir \(path)")
            state.withLock { s in
                if let id = s.child(parent, name) { s.detach(id) }
            }
        }
    }

    enum Replaced { case nothing, file, directory }

    /// Puts a whiteout at `path` in the upper layer, atomically replacing what is there: a 0/0
    /// character device (the kernel's form), or where mknod is refused, an empty `.wh.NAME` file.
    func placeWhiteout(_ upper: any UpperLayer, _ path: RelPath, replacing: Replaced) throws(Errno) {
        guard let work = try makeWhiteoutDevice(upper) else {
            try placeImageWhiteout(upper, path, replacing: replacing)
            return
        }
        do {
            switch replacing {
            case .nothing: try upper.rename(from: work, to: .tree(path), flags: .noReplace)
            case .file: try upper.rename(from: work, to: .tree(path), flags: [])
            case .directory:
                try upper.rename(from: work, to: .tree(path), flags: .exchange)
                // Done: the whiteout is in place. The old directory (empty as seen, maybe holding
                // whiteouts) is removed now if possible, else at the next mount.
                try? upper.removeTree(work)
            }
        } catch {
            try? upper.removeTree(work)
            throw error
        }
    }

    /// The fallback whiteout: remove the object, then create `.wh.NAME` beside it.
    private func placeImageWhiteout(_ upper: any UpperLayer, _ path: RelPath, replacing: Replaced) throws(Errno) {
        guard let name = path.last, let wh = Markers.whiteoutName(for: name) else { throw .ENAMETOOLONG }
        let work = Place.work(tempName())
        let marker = try upper.create(work, flags: .readWrite, mode: 0o600)
        marker.close()
        switch replacing {
        case .nothing: break
        case .file: try upper.unlink(.tree(path))
        case .directory:
            let gone = Place.work(tempName())
            try upper.rename(from: .tree(path), to: gone, flags: .noReplace)
            try upper.removeTree(gone)
        }
        try upper.rename(from: work, to: .tree(path.parent.appending(wh)), flags: [])
    }
}
