import LayerAPI

/// Lookup through the layers (the kernel's namei.c): which layers hold a name, what hides what.
extension OverlayFS {
    /// True when `path` in `layer` is an opaque directory (any of the opaque xattrs is "y", or it
    /// contains `.wh..wh..opq`).
    static func isOpaque(_ layer: any Layer, _ path: RelPath) -> Bool {
        for name in Markers.opaqueXattrs {
            if let v = try? layer.getXattr(path, name), v == Markers.yes { return true }
        }
        if (try? layer.stat(path.appending(Markers.opaqueFile))) != nil { return true }
        return false
    }

    /// What one layer says about `name` in directory `dir`.
    enum LayerAnswer {
        case absent
        case whiteout
        case found(FileStat)
    }

    static func probe(_ layer: any Layer, _ dir: RelPath, _ name: Name) throws(Errno) -> LayerAnswer {
        do {
            let st = try layer.stat(dir.appending(name))
            return st.isWhiteoutDevice ? .whiteout : .found(st)
        } catch {
            guard error == .ENOENT else { throw error }
        }
        if let wh = Markers.whiteoutName(for: name) {
            do {
                _ = try layer.stat(dir.appending(wh))
                return .whiteout
            } catch {
                guard error == .ENOENT || error == .ENAMETOOLONG else { throw error }
            }
        }
        return .absent
    }

    /// Resolves `name` in a directory with placement `parent` at `dir` (its lower directories
    /// are at `parent.lowerPath`, see `locate`). Returns nil when the name is absent or whited
    /// out, else its placement and the stat of the providing object. An upper directory with a
    /// redirect merges with the lower directories the redirect names (see Redirect.swift).
    /// `findData` false: a caller that only removes the name skips looking for a metacopy
    /// file's lower data (two xattr reads per file). `skipping`: the first layers (upper first)
    /// are known to hold neither the name nor a whiteout of it, and are not probed.
    func resolve(
        _ dir: RelPath, _ parent: Placement, _ name: Name, findData: Bool = true, skipping: Int = 0
    ) throws(Errno) -> (Placement, FileStat)? {
        if Markers.isReservedName(name) { return nil }
        let lowerDir = parent.lower(dir)
        let lowerPath = parent.lowerPath?.appending(name)
        var result: Placement?
        var top = FileStat()
        let upperCount = parent.upper && upper != nil ? 1 : 0
        if parent.upper, let upper, skipping == 0 {
            let path = dir.appending(name)
            switch try Self.probe(upper, dir, name) {
            case .whiteout: return nil
            case .absent: break
            case .found(let st):
                let alone = Placement(upper: true, lowers: [], type: st.type, lowerPath: lowerPath)
                guard st.isDirectory else {
                    var p = alone
                    if st.type == .regular && findData { p.data = try metacopyData(path, lowerDir: lowerDir) }
                    return (p, st)
                }
                let redirect = try redirect(of: path, lowerDir: lowerDir)
                if parent.lowers.isEmpty && redirect == nil { return (alone, st) }
                if Self.isOpaque(upper, path) { return (alone, st) }
                if let redirect {
                    let lowers = try redirectedLowers(redirect, parent: parent)
                    return (Placement(upper: true, lowers: lowers, type: .directory, lowerPath: redirect.path), st)
                }
                top = st
                result = alone
            }
        }
        let lowerObject = lowerDir.appending(name)
        for (k, i) in parent.lowers.enumerated() where i < lowers.count && upperCount + k >= skipping {
            let layer = lowers[i]
            switch try Self.probe(layer, lowerDir, name) {
            case .whiteout:
                return result.map { ($0, top) }
            case .absent:
                continue
            case .found(let st):
                if var r = result {
                    // Only a directory merges with a directory above it.
                    guard st.isDirectory else { return (r, top) }
                    r.lowers.append(i)
                    result = r
                } else {
                    top = st
                    let found = Placement(upper: false, lowers: [i], type: st.type, lowerPath: lowerPath)
                    if !st.isDirectory { return (found, st) }
                    result = found
                }
                let isBottom = k == parent.lowers.count - 1
                if !isBottom && Self.isOpaque(layer, lowerObject) { return result.map { ($0, top) } }
            }
        }
        return result.map { ($0, top) }
    }

    /// True when some lower layer below the upper still has a visible object at `name` in a
    /// directory with placement `parent`: removing the name then needs a whiteout.
    func lowerHasName(_ dir: RelPath, _ parent: Placement, _ name: Name) throws(Errno) -> Bool {
        let lowerDir = parent.lower(dir)
        for i in parent.lowers where i < lowers.count {
            switch try Self.probe(lowers[i], lowerDir, name) {
            case .whiteout: return false
            case .absent: continue
            case .found: return true
            }
        }
        return false
    }
}
