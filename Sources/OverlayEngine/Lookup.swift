import LayerAPI

/// lookup and forget: the kernel's view of which node ids exist.
extension OverlayFS {
    /// Resolves without the namespace lock; the answer is recorded only if no name changed
    /// meanwhile (else a stale answer could replace a newer node, and the kernel would see a node
    /// change type). After a few changed attempts, resolves under the lock.
    public func lookup(parent: NodeID, name: Name) throws(Errno) -> Entry {
        for _ in 0..<4 {
            let before = namespace.generation.load(ordering: .sequentiallyConsistent)
            if before & 1 != 0 { continue }
            if let entry = try lookupOnce(parent: parent, name: name, unless: before) { return entry }
        }
        return try namespace.withLock { _ throws(Errno) -> Entry in
            guard let entry = try lookupOnce(parent: parent, name: name, unless: nil) else { throw .EIO }
            return entry
        }
    }

    /// The lookup of a name a listing of `parent` just gave (readdirplus): while no name has
    /// changed since the listing, the layers it found without the name (or a whiteout of it) are
    /// not probed again: a lower-layer file under an upper and another lower costs one stat
    /// instead of five.
    public func lookup(parent: NodeID, listed: ListedEntry) throws(Errno) -> Entry {
        guard let name = Name(listed.name) else { throw .EINVAL }
        let now = namespace.generation.load(ordering: .sequentiallyConsistent)
        if listed.listedAt == now, now & 1 == 0, listed.firstLayer > 0 || listed.resolution != nil,
            let entry = try lookupOnce(
                parent: parent, name: name, unless: now, skipping: listed.firstLayer, resolved: listed.resolution)
        {
            return entry
        }
        return try lookup(parent: parent, name: name)
    }

    /// True when the kernel holds a node for `name` in `parent` (looked up and not forgotten,
    /// still reachable by that name) of type `type`, with the attributes we last gave it still
    /// current in its cache as far as we can tell (no open or listing since; see `attrsStale`).
    /// readdirplus then leaves the entry to the kernel's own caches instead of looking it up
    /// again; see `fillDirectoryPlus`.
    public func kernelHolds(parent: NodeID, name: [UInt8], type: FileType) -> Bool {
        guard let n = Name(name) else { return false }
        return state.withLock { s in
            guard let id = s.index[ChildKey(parent: parent, name: n)], let node = s.nodes[id] else { return false }
            return node.lookups > 0 && !node.detached && !node.attrsStale && node.placement.type == type
        }
    }

    /// One resolution; nil (nothing recorded) if `generation` is given and the namespace
    /// generation moved from it. `skipping`: layers known not to hold the name (see above).
    /// `resolved`: the resolution a directory prefetch did (valid at `generation`).
    private func lookupOnce(
        parent: NodeID, name: Name, unless generation: UInt64?, skipping: Int = 0, resolved: Resolution? = nil
    ) throws(Errno) -> Entry? {
        let (dir, parentPlacement) = try locate(parent)
        guard parentPlacement.type == .directory else { throw .ENOTDIR }
        let found: (Placement, FileStat)?
        if let resolved {
            found = (resolved.placement, resolved.stat)
        } else {
            found = try resolve(dir, parentPlacement, name, skipping: skipping)
        }
        guard let (placement, real) = found else { throw .ENOENT }
        if let data = placement.data {
            adoptDataOrigin(data, real)
        } else if placement.upper {
            adoptOrigin(dir.appending(name), real)
        }
        let id = state.withLock { s -> NodeID? in
            if let generation, namespace.generation.load(ordering: .sequentiallyConsistent) != generation { return nil }
            return s.remember(parent: parent, name: name, placement: placement)
        }
        guard let id else { return nil }
        return Entry(node: id, generation: 1, attr: visibleStat(real, placement, at: dir.appending(name)))
    }

    public func forget(_ node: NodeID, lookups: UInt64) {
        let compacted = state.withLock { s -> Bool in
            s.forget(node, lookups)
            return s.compactIfSparse()
        }
        if compacted { self.compacted.store(true, ordering: .relaxed) }
    }

    /// True (once) after `forget` shrank the node tables: the caller may return freed memory to
    /// the system (malloc_trim).
    public func takeCompacted() -> Bool {
        compacted.exchange(false, ordering: .relaxed)
    }

    /// How many nodes the engine holds (for tests and memory reports).
    public var nodeCount: Int { state.withLock { $0.nodes.count } }
}
