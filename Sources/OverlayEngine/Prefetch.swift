import LayerAPI

/// Directory read-ahead for tree walks. When readdirplus hands the kernel a directory's
/// subdirectories, the adapter asks (on spare threads) for their listings before the walker
/// reaches them: the merge of the layers' entries and the lookup of every entry found only in a
/// lower layer (the stats a readdirplus reply needs) are done off the walker's path, and on a cold
/// cache the disk reads of several directories overlap.
///
/// A prefetched listing is used only while nothing changed: the namespace generation must be the
/// one it was built at (every change of a name, copy-ups included, moves it) and the node must
/// still be at the path, with the placement, it was listed at (which that already implies; checked
/// anyway, as it costs nothing). Lookups are kept only for objects found in the lower layers alone, which are
/// read-only: their placement and stat change only through a change of names above them.
/// Upper-layer entries are looked up when served, as without prefetch.
struct PrefetchedListings: Sendable {
    struct Item: Sendable {
        var path: RelPath
        var placement: Placement
        var generation: UInt64
        var entries: [ListedEntry]
    }

    private var items: [NodeID: Item] = [:]
    private var order: [NodeID] = []
    private var head = 0
    private var total = 0

    func contains(_ node: NodeID) -> Bool { items[node] != nil }

    /// Keeps `item` for `node`; the oldest items go while more than `budget` entries are kept.
    mutating func store(_ node: NodeID, _ item: Item, budget: Int) {
        if let old = items.updateValue(item, forKey: node) {
            total -= old.entries.count
        } else {
            order.append(node)
        }
        total += item.entries.count
        while total > budget, head < order.count {
            let oldest = order[head]
            head += 1
            if let gone = items.removeValue(forKey: oldest) { total -= gone.entries.count }
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// Removes and returns what is kept for `node` (a listing is served from here at most once).
    /// Its slot in `order` stays until it comes up (a stale id there removes nothing or, if the
    /// node was stored again, a newer item early: harmless either way).
    mutating func take(_ node: NodeID) -> Item? {
        guard let item = items.removeValue(forKey: node) else { return nil }
        total -= item.entries.count
        return item
    }
}

/// A lookup done ahead by the prefetch: the placement and stat `resolve` gave.
struct Resolution: Sendable {
    var placement: Placement
    var stat: FileStat
}

extension OverlayFS {
    /// The namespace generation now: the token `prefetchListing` compares against.
    public var namespaceGeneration: UInt64 { namespace.generation.load(ordering: .sequentiallyConsistent) }

    /// Lists directory `node` ahead of its READDIR and looks up the entries that only lower
    /// layers hold (see PrefetchedListings). Does nothing if the namespace generation is no
    /// longer `generation` (it was read when the prefetch was asked for: a walk that changes names
    /// as it goes, like `rm -r`, would waste the work), if the listing is already kept, or on any
    /// error (the READDIR will then list as usual and report it).
    public func prefetchListing(of node: NodeID, ifStill generation: UInt64) {
        guard generation & 1 == 0, namespaceGeneration == generation else { return }
        guard !state.withLock({ $0.prefetched.contains(node) }) else { return }
        guard let (path, placement) = try? locate(node), placement.type == .directory else { return }
        guard var entries = try? listing(of: node), entries.last?.listedAt == generation || entries.count <= 2 else {
            return
        }
        let upperHolds = placement.upper && upper != nil
        for i in entries.indices.dropFirst(2) {
            let e = entries[i]
            if upperHolds && e.firstLayer == 0 { continue }
            guard let name = Name(e.name),
                let (p, st) = try? resolve(path, placement, name, skipping: e.firstLayer), !p.upper
            else { continue }
            entries[i].resolution = Resolution(placement: p, stat: st)
            if namespaceGeneration != generation { return }
        }
        let item = PrefetchedListings.Item(path: path, placement: placement, generation: generation, entries: entries)
        state.withLock { s in
            guard namespace.generation.load(ordering: .sequentiallyConsistent) == generation else { return }
            s.prefetched.store(node, item, budget: options.listingBudget)
        }
    }

    /// The prefetched listing of `node` (at `path` with `placement`, as `locate` gave now), if one
    /// is kept and still right; it is removed either way.
    func takePrefetched(_ node: NodeID, _ path: RelPath, _ placement: Placement) -> [ListedEntry]? {
        guard let item = state.withLock({ $0.prefetched.take(node) }) else { return nil }
        guard item.generation == namespaceGeneration, item.path == path, item.placement == placement else { return nil }
        return item.entries
    }
}
