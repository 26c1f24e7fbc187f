import LayerAPI

/// Merged listings served without an open-directory handle. The adapter answers OPENDIR with
/// ENOSYS, so the kernel stops sending OPENDIR and RELEASEDIR (two requests per directory a
/// tree walk enters) and caches listings by itself; READDIR then names only the directory and
/// an offset. A read from offset 0 builds a snapshot of the listing; every offset handed out
/// carries the snapshot's generation in its high 32 bits and the position in the low ones, so
/// a reader that continues from an offset sees the snapshot it started with, however the
/// directory changes meanwhile (each name exactly once, as with an open handle). Snapshots are
/// kept first in, first out, up to `EngineOptions.listingBudget` entries in all (the newest
/// whatever its size, so a huge directory is not listed again for every chunk); a reader whose
/// snapshot was dropped gets a fresh listing from the same position.
struct ListingCache: Sendable {

    private var snapshots: [UInt32: (node: NodeID, entries: [ListedEntry])] = [:]
    private var order: [UInt32] = []
    private var head = 0
    private var total = 0
    private var nextGeneration: UInt32 = 1

    /// Stores the entries (offsets 1, 2, … as `listing(of:)` numbers them) as a new
    /// snapshot of `node`; returns them with their offsets rewritten to carry its generation.
    mutating func store(_ node: NodeID, _ entries: [ListedEntry], budget: Int) -> [ListedEntry] {
        let gen = nextGeneration
        nextGeneration = nextGeneration == UInt32(Int32.max) ? 1 : nextGeneration + 1
        var tagged = entries
        for i in tagged.indices { tagged[i].nextOffset = Self.offset(gen, Int64(i + 1)) }
        snapshots[gen] = (node, tagged)
        order.append(gen)
        total += tagged.count
        while total > budget, head < order.count - 1 {
            let old = order[head]
            head += 1
            if let s = snapshots.removeValue(forKey: old) { total -= s.entries.count }
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        return tagged
    }

    /// The entries of `node`'s snapshot from `offset` on; nil when the snapshot is gone (or
    /// the offset names another directory's).
    func entries(_ node: NodeID, from offset: Int64) -> ArraySlice<ListedEntry>? {
        let (gen, position) = Self.split(offset)
        guard let s = snapshots[gen], s.node == node else { return nil }
        return position < s.entries.count ? s.entries[position...] : []
    }

    static func offset(_ gen: UInt32, _ position: Int64) -> Int64 { Int64(gen) << 32 | position }

    static func split(_ offset: Int64) -> (gen: UInt32, position: Int) {
        (UInt32(truncatingIfNeeded: offset >> 32), Int(offset & 0xFFFF_FFFF))
    }
}

extension OverlayFS {
    /// The listing of directory `node` from `offset` (0: a new snapshot; otherwise an offset
    /// this method handed out), for readers without an open handle.
    public func readdir(node: NodeID, from offset: Int64) throws(Errno) -> ArraySlice<ListedEntry> {
        guard offset >= 0 else { throw .EINVAL }
        if offset != 0, let kept = state.withLock({ s -> ArraySlice<ListedEntry>? in
            s.nodes[node]?.attrsStale = true
            return s.listings.entries(node, from: offset)
        }) { return kept }
        let (path, placement) = try locate(node)
        guard placement.type == .directory else { throw .ENOTDIR }
        let fresh: [ListedEntry]
        if offset == 0, let ahead = takePrefetched(node, path, placement) {
            fresh = ahead
        } else {
            fresh = try listing(of: node)
        }
        let tagged = state.withLock { s in
            s.nodes[node]?.attrsStale = true
            return s.listings.store(node, fresh, budget: options.listingBudget)
        }
        let position = offset == 0 ? 0 : ListingCache.split(offset).position
        return position < tagged.count ? tagged[position...] : []
    }

    /// fsync(2) of a directory read without a handle.
    public func fsyncdir(node: NodeID, dataOnly: Bool) throws(Errno) {
        let (_, placement) = try locate(node)
        guard placement.type == .directory else { throw .ENOTDIR }
        if options.fsync, let upper { try upper.sync() }
    }
}
