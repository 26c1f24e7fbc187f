import LayerAPI
import Synchronization

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
        var stored: ContinuousClock.Instant
    }

    /// At most this many listings, and entries in all, are kept unserved (the oldest go first;
    /// about 200 bytes an entry); one not served within `maxAge` is dropped too.
    static let window = 128
    static let entryBudget = 32_768
    static let maxAge: Duration = .seconds(2)

    private var items: [NodeID: Item] = [:]
    /// Listings being built now.
    var building: [NodeID: PrefetchGate] = [:]
    /// Nodes in the order they were stored (a taken or replaced one stays until it comes up).
    private var order: [(node: NodeID, stored: ContinuousClock.Instant)] = []
    private var head = 0
    private var total = 0

    func contains(_ node: NodeID) -> Bool { items[node] != nil }

    /// Keeps `item` for `node`, dropping the oldest listings beyond the window or age.
    mutating func store(_ node: NodeID, _ item: Item) {
        if let replaced = items.updateValue(item, forKey: node) { total -= replaced.entries.count }
        total += item.entries.count
        order.append((node, item.stored))
        while head < order.count - 1,
            items.count > Self.window || total > Self.entryBudget || item.stored - order[head].stored > Self.maxAge
        {
            let (old, stored) = order[head]
            head += 1
            if let kept = items[old], kept.stored == stored {
                items[old] = nil
                total -= kept.entries.count
            }
        }
        if head > 256 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// Removes and returns what is kept for `node` (a listing is served from here at most once).
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
    /// layers hold (see PrefetchedListings). Skipped if the namespace generation is no longer
    /// `generation` (it was read when the prefetch was asked for: a walk that changes names as it
    /// goes, like `rm -r`, would waste the work), if the listing is kept or being built already,
    /// or on any error (the READDIR will then list as usual and report it).
    /// True when it listed (false: skipped).
    @discardableResult
    public func prefetchListing(of node: NodeID, ifStill generation: UInt64) -> Bool {
        guard generation & 1 == 0, namespaceGeneration == generation else { return false }
        // The gate is held while the listing is built, and published only once held: a READDIR
        // of this node meanwhile waits for it instead of listing a second time.
        let gate = PrefetchGate()
        return gate.lock.withLock { _ -> Bool in
            let mine = state.withLock { s -> Bool in
                guard !s.prefetched.contains(node), s.prefetched.building[node] == nil else { return false }
                s.prefetched.building[node] = gate
                return true
            }
            guard mine else { return false }
            let item = buildAhead(node, generation)
            return state.withLock { s in
                s.prefetched.building[node] = nil
                guard let item, namespace.generation.load(ordering: .sequentiallyConsistent) == generation else {
                    return false
                }
                s.prefetched.store(node, item)
                prefetchesListed.add(1, ordering: .relaxed)
                return true
            }
        }
    }

    private func buildAhead(_ node: NodeID, _ generation: UInt64) -> PrefetchedListings.Item? {
        guard let (path, placement) = try? locate(node), placement.type == .directory else { return nil }
        guard var entries = try? listing(of: node), entries.last?.listedAt == generation || entries.count <= 2 else {
            return nil
        }
        let upperHolds = placement.upper && upper != nil
        for i in entries.indices.dropFirst(2) {
            let e = entries[i]
            if upperHolds && e.firstLayer == 0 { continue }
            guard let name = Name(e.name),
                let (p, st) = try? resolve(path, placement, name, skipping: e.firstLayer), !p.upper
            else { continue }
            entries[i].resolution = Resolution(placement: p, stat: st)
            if namespaceGeneration != generation { return nil }
        }
        return PrefetchedListings.Item(path: path, placement: placement, generation: generation, entries: entries, stored: .now)
    }

    /// The prefetched listing of `node` (at `path` with `placement`, as `locate` gave now), if one
    /// is kept and still right (waiting for one being built); it is removed either way.
    func takePrefetched(_ node: NodeID, _ path: RelPath, _ placement: Placement) -> [ListedEntry]? {
        var item: PrefetchedListings.Item?
        for attempt in 0..<2 {
            let (kept, building) = state.withLock { s in (s.prefetched.take(node), s.prefetched.building[node]) }
            item = kept
            guard item == nil, let building, attempt == 0 else { break }
            building.lock.withLock { _ in }
        }
        guard let item, item.generation == namespaceGeneration, item.path == path, item.placement == placement else {
            return nil
        }
        prefetchesServed.add(1, ordering: .relaxed)
        return item.entries
    }
}

/// Held while a prefetch builds one listing (see `prefetchListing`).
final class PrefetchGate: Sendable {
    let lock = Mutex<Void>(())
}
