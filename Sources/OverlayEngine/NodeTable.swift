import LayerAPI

/// Where an overlay object lives. `upper`: it exists in the upper layer at its path. `lowers`:
/// for a directory, the indices of the lower layers whose directory at the same path merges into
/// it (top first, stopping at an opaque one); for a non-directory not in the upper, the single
/// lower layer that provides it; for a non-directory in the upper, empty. `data`: for a
/// metacopy upper file (metadata only, see Metacopy.swift), where its data lives. `lowerPath`:
/// where its lower part is when that is not its own path (see Redirect.swift).
struct Placement: Hashable, Sendable {
    var upper: Bool
    var lowers: [Int]
    var type: FileType
    var data: LowerData? = nil
    /// The object's path in the lower layers, when a redirected directory (it, or one above it)
    /// put its lower part somewhere else than its path in the overlay. In the node table: set on
    /// a redirected directory and on what lookups found under one; nil means "the parent's lower
    /// path + the name" (the overlay path when no ancestor is redirected). A lower path never
    /// changes once known (a rename records it as a redirect), so a stored one stays right.
    /// As returned by `locate`: the derived value, nil only when it equals the overlay path.
    var lowerPath: RelPath? = nil

    /// The path of this object in its lower layers, given its overlay path.
    func lower(_ path: RelPath) -> RelPath { lowerPath ?? path }

    /// The path of this object in the layer `providingLayer` returns for it.
    func providing(_ path: RelPath) -> RelPath { upper ? path : lowerPath ?? path }
}

/// The lower file holding the data of a metacopy upper file.
struct LowerData: Hashable, Sendable {
    var layer: Int
    var path: RelPath
}

/// One object the kernel knows by a node id.
struct Node: Sendable {
    var parent: NodeID
    var name: Name
    var placement: Placement
    /// The kernel's lookup count (FUSE forget protocol).
    var lookups: UInt64
    /// Child nodes in the table that name this node as parent (a parent outlives its children).
    var children: Int = 0
    /// Open file handles on this node.
    var opens: Int = 0
    /// Unlinked or renamed over: no longer reachable by name.
    var detached: Bool = false
    /// The kernel may have marked its cached attributes of this node stale since it last got
    /// them from us: a read or a READDIR marks atime stale, a write the size and times. Set by
    /// open (reads through passthrough never reach us), read, write and readdir; cleared by a
    /// lookup or getattr. Only a hint for readdirplus (see `OverlayFS.kernelHolds`).
    var attrsStale: Bool = false
}

struct ChildKey: Hashable, Sendable {
    var parent: NodeID
    var name: Name
}

/// An open regular file.
struct OpenFile: Sendable {
    var node: NodeID
    var file: any LayerFile
    var fromUpper: Bool
    var flags: OpenFlags
    /// Files this handle used before it followed a copy-up. A concurrent read may still be
    /// splicing from one, so they are closed only at release (closing now could let the
    /// descriptor number be reused under that read).
    var retired: [any LayerFile] = []
}

/// Everything mutable in the engine, protected by `OverlayFS.state` (one Mutex; held only for
/// table updates, never across layer I/O).
struct State: Sendable {
    var nodes: [NodeID: Node] = [:]
    var index: [ChildKey: NodeID] = [:]
    var nextNode: NodeID = 2
    var files: [HandleID: OpenFile] = [:]
    var listings = ListingCache()
    var prefetched = PrefetchedListings()
    var nextHandle: HandleID = 1
    var inodes = InodeNumbers()

    init(root: Placement) {
        nodes[1] = Node(parent: 1, name: Name(validated: [0x2F]), placement: root, lookups: 1)
    }

    /// The path of `id` from the root, nil when it or an ancestor is detached or unknown.
    func path(of id: NodeID) -> RelPath? {
        var names: [Name] = []
        var cur = id
        while cur != 1 {
            guard let n = nodes[cur], !n.detached else { return nil }
            names.append(n.name)
            cur = n.parent
        }
        return RelPath(names.reversed())
    }

    /// The path of `id` from the root, and its lower path when that differs (derived from the
    /// nearest node, itself or an ancestor, that knows its own: see `Placement.lowerPath`); nil
    /// when it or an ancestor is detached or unknown.
    func location(of id: NodeID) -> (path: RelPath, lowerPath: RelPath?)? {
        var names: [Name] = []
        var cur = id
        var anchor: (lowerPath: RelPath, below: Int)?
        while cur != 1 {
            guard let n = nodes[cur], !n.detached else { return nil }
            if anchor == nil, let l = n.placement.lowerPath { anchor = (l, names.count) }
            names.append(n.name)
            cur = n.parent
        }
        let path = RelPath(names.reversed())
        guard let anchor else { return (path, nil) }
        var lower = anchor.lowerPath
        for name in names[0..<anchor.below].reversed() { lower = lower.appending(name) }
        return (path, lower == path ? nil : lower)
    }

    /// Records that the kernel looked up (parent, name) and found `placement`; returns the node
    /// id (the existing one if the same object is already known).
    mutating func remember(parent: NodeID, name: Name, placement: Placement) -> NodeID {
        let key = ChildKey(parent: parent, name: name)
        if let id = index[key], var n = nodes[id] {
            if n.placement.type == placement.type {
                n.placement = placement
                n.lookups += 1
                n.attrsStale = false
                nodes[id] = n
                return id
            }
            detach(id)
        }
        let id = nextNode
        nextNode += 1
        nodes[id] = Node(parent: parent, name: name, placement: placement, lookups: 1)
        nodes[parent]?.children += 1
        index[key] = id
        return id
    }

    /// Makes `id` unreachable by name (after unlink/rmdir/rename-over); it lives on while the
    /// kernel still holds it.
    mutating func detach(_ id: NodeID) {
        guard var n = nodes[id], !n.detached else { return }
        let key = ChildKey(parent: n.parent, name: n.name)
        if index[key] == id { index[key] = nil }
        n.detached = true
        nodes[id] = n
        reclaim(id)
    }

    /// The child node currently known for (parent, name), if any.
    func child(_ parent: NodeID, _ name: Name) -> NodeID? { index[ChildKey(parent: parent, name: name)] }

    /// Moves node `id` to (parent, name), detaching whatever node was there.
    mutating func move(_ id: NodeID, to parent: NodeID, name: Name) {
        guard var n = nodes[id] else { return }
        let newKey = ChildKey(parent: parent, name: name)
        if let other = index[newKey], other != id { detach(other) }
        let oldKey = ChildKey(parent: n.parent, name: n.name)
        if index[oldKey] == id { index[oldKey] = nil }
        let oldParent = n.parent
        n.parent = parent
        n.name = name
        nodes[id] = n
        index[newKey] = id
        if oldParent != parent {
            nodes[parent]?.children += 1
            nodes[oldParent]?.children -= 1
            reclaim(oldParent)
        }
    }

    /// RENAME_EXCHANGE: the nodes at the two names trade places.
    mutating func exchange(_ p1: NodeID, _ n1: Name, _ p2: NodeID, _ n2: Name) {
        let k1 = ChildKey(parent: p1, name: n1)
        let k2 = ChildKey(parent: p2, name: n2)
        let a = index[k1]
        let b = index[k2]
        index[k1] = nil
        index[k2] = nil
        if let a { place(a, p2, n2) }
        if let b { place(b, p1, n1) }
    }

    private mutating func place(_ id: NodeID, _ parent: NodeID, _ name: Name) {
        guard var n = nodes[id] else { return }
        if n.parent != parent {
            nodes[n.parent]?.children -= 1
            nodes[parent]?.children += 1
        }
        n.parent = parent
        n.name = name
        n.placement.upper = true
        nodes[id] = n
        index[ChildKey(parent: parent, name: name)] = id
    }

    mutating func forget(_ id: NodeID, _ count: UInt64) {
        guard id != 1, var n = nodes[id] else { return }
        n.lookups = n.lookups > count ? n.lookups - count : 0
        nodes[id] = n
        reclaim(id)
    }

    /// Dictionaries keep their capacity when emptied: after the kernel forgot most of a big walk,
    /// the tables are rebuilt at their current size so the memory goes back to the allocator.
    /// True when it did so.
    mutating func compactIfSparse() -> Bool {
        guard nodes.capacity > 4096, nodes.count * 8 < nodes.capacity else { return false }
        var freshNodes = [NodeID: Node](minimumCapacity: nodes.count * 2)
        for (k, v) in nodes { freshNodes[k] = v }
        nodes = freshNodes
        var freshIndex = [ChildKey: NodeID](minimumCapacity: index.count * 2)
        for (k, v) in index { freshIndex[k] = v }
        index = freshIndex
        return true
    }

    /// Drops nodes nobody refers to any more: no kernel lookups, no children, no open handle.
    private mutating func reclaim(_ start: NodeID) {
        var id = start
        while id != 1, let n = nodes[id], n.lookups == 0, n.children == 0, n.opens == 0 {
            let key = ChildKey(parent: n.parent, name: n.name)
            if index[key] == id { index[key] = nil }
            nodes[id] = nil
            nodes[n.parent]?.children -= 1
            id = n.parent
        }
    }

    mutating func addFile(_ f: OpenFile) -> HandleID {
        let h = nextHandle
        nextHandle += 1
        files[h] = f
        nodes[f.node]?.opens += 1
        nodes[f.node]?.attrsStale = true
        return h
    }

    mutating func removeFile(_ h: HandleID) -> OpenFile? {
        guard let f = files.removeValue(forKey: h) else { return nil }
        nodes[f.node]?.opens -= 1
        reclaim(f.node)
        return f
    }
}
