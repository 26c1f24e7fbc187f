import LayerAPI

/// Merged directory listings (the kernel's readdir.c): upper first, each name shown once,
/// whiteouts and overlay-private entries hidden; served by offset from snapshots
/// (Listings.swift).
extension OverlayFS {
    /// The visible entries of the directory at `path` (without "." and ".."); its lower
    /// directories are at `placement.lowerPath` when that is set.
    /// `layer`: where the name was found (0 is the upper when the directory has one).
    func mergedEntries(_ path: RelPath, _ placement: Placement) throws(Errno) -> [(name: Name, type: FileType, dev: UInt64, ino: UInt64, layer: Int)] {
        var layers: [(layer: any Layer, path: RelPath)] = []
        if placement.upper, let upper { layers.append((upper, path)) }
        let lowerPath = placement.lower(path)
        for i in placement.lowers where i < lowers.count { layers.append((lowers[i], lowerPath)) }
        var seen = Set<Name>()
        var hidden = Set<Name>()
        var out: [(name: Name, type: FileType, dev: UInt64, ino: UInt64, layer: Int)] = []
        for (index, (layer, path)) in layers.enumerated() {
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
                out.append((e.name, type, dirStat.dev, e.ino, index))
            }
            hidden.formUnion(newlyHidden)
        }
        return out
    }

    /// ".", "..", then the merged entries, each with the offset that follows it.
    func listing(of node: NodeID) throws(Errno) -> [ListedEntry] {
        let (path, placement) = try locate(node)
        let before = namespace.generation.load(ordering: .sequentiallyConsistent)
        let merged = try mergedEntries(path, placement)
        let after = namespace.generation.load(ordering: .sequentiallyConsistent)
        let listedAt = before == after && before & 1 == 0 ? before : UInt64.max
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
                out.append(
                    ListedEntry(
                        name: e.name.bytes, ino: ino, type: e.type, nextOffset: Int64(out.count + 1), firstLayer: e.layer,
                        listedAt: listedAt))
            }
        }
        return out
    }
}
