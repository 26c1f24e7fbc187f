import LayerAPI

/// Merged directory listings (the kernel's readdir.c): read once per open directory, upper
/// first, each name shown once, whiteouts and overlay-private entries hidden.
extension OverlayFS {
    /// The visible entries of the directory at `path` (without "." and ".."); its lower
    /// directories are at `placement.lowerPath` when that is set.
    func mergedEntries(_ path: RelPath, _ placement: Placement) throws(Errno) -> [(name: Name, type: FileType, dev: UInt64, ino: UInt64)] {
        var layers: [(layer: any Layer, path: RelPath)] = []
        if placement.upper, let upper { layers.append((upper, path)) }
        let lowerPath = placement.lower(path)
        for i in placement.lowers where i < lowers.count { layers.append((lowers[i], lowerPath)) }
        var seen = Set<Name>()
        var hidden = Set<Name>()
        var out: [(name: Name, type: FileType, dev: UInt64, ino: UInt64)] = []
        for (layer, path) in layers {
            let dirStat = try layer.stat(path)
            guard dirStat.isDirectory else { break }
            var newlyHidden: [Name] = []
            for e in try layer.readDirectory(path) {
                if e.name.hasPrefix(Markers.whiteoutPrefix) {
                    if let target = Markers.whitedOut(by: e.name) { newlyHidden.append(target) }
                    continue
                }
                if seen.contains(e.name) || hidden.contains(e.name) { continue }
                var type = e.type
                if type == .characterDevice || type == .unknown {
                    let st = try layer.stat(path.appending(e.name))
                    if st.isWhiteoutDevice {
                        newlyHidden.append(e.name)
                        continue
                    }
                    type = st.type
                }
                seen.insert(e.name)
                out.append((e.name, type, dirStat.dev, e.ino))
            }
            hidden.formUnion(newlyHidden)
        }
        return out
    }

    public func opendir(_ node: NodeID) throws(Errno) -> HandleID {
        let (_, placement) = try locate(node)
        guard placement.type == .directory else { throw .ENOTDIR }
        return state.withLock { s in
            let h = s.nextHandle
            s.nextHandle += 1
            s.dirs[h] = OpenDir(node: node, entries: [])
            return h
        }
    }

    public func readdir(_ handle: HandleID, from offset: Int64) throws(Errno) -> ArraySlice<ListedEntry> {
        guard offset >= 0 else { throw .EINVAL }
        let node = try state.withLock { s throws(Errno) -> NodeID in
            guard let d = s.dirs[handle] else { throw .EBADF }
            return d.node
        }
        if offset == 0 {
            let listing = try listing(of: node)
            state.withLock { s in s.dirs[handle]?.entries = listing }
        }
        return state.withLock { s -> ArraySlice<ListedEntry> in
            guard let entries = s.dirs[handle]?.entries, offset < entries.count else { return [] }
            return entries[Int(offset)...]
        }
    }

    /// ".", "..", then the merged entries, each with the offset that follows it.
    private func listing(of node: NodeID) throws(Errno) -> [ListedEntry] {
        let (path, placement) = try locate(node)
        let merged = try mergedEntries(path, placement)
        let selfStat = try statNode(path, placement)
        let parentIno: UInt64
        if node == 1 {
            parentIno = selfStat.ino
        } else {
            let parent = state.withLock { $0.nodes[node]?.parent ?? 1 }
            parentIno = (try? getattr(parent).ino) ?? selfStat.ino
        }
        var out: [ListedEntry] = []
        out.reserveCapacity(merged.count + 2)
        out.append(ListedEntry(name: [0x2E], ino: selfStat.ino, type: .directory, nextOffset: 1))
        out.append(ListedEntry(name: [0x2E, 0x2E], ino: parentIno, type: .directory, nextOffset: 2))
        state.withLock { s in
            for e in merged {
                let ino = shownIno(s.inodes.visible(dev: e.dev, ino: e.ino))
                out.append(ListedEntry(name: e.name.bytes, ino: ino, type: e.type, nextOffset: Int64(out.count + 1)))
            }
        }
        return out
    }

    public func releasedir(_ handle: HandleID) {
        state.withLock { s in s.dirs[handle] = nil }
    }

    public func fsyncdir(_ handle: HandleID, dataOnly: Bool) throws(Errno) {
        let known = state.withLock { $0.dirs[handle] != nil }
        guard known else { throw .EBADF }
        if options.fsync, let upper { try upper.sync() }
    }
}
