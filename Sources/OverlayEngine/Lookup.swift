import LayerAPI

/// lookup and forget: the kernel's view of which node ids exist.
extension OverlayFS {
    public func lookup(parent: NodeID, name: Name) throws(Errno) -> Entry {
        let (dir, parentPlacement) = try locate(parent)
        guard parentPlacement.type == .directory else { throw .ENOTDIR }
        guard let (placement, real) = try resolve(dir, parentPlacement, name) else { throw .ENOENT }
        if placement.upper { adoptOrigin(dir.appending(name), real) }
        let id = state.withLock { $0.remember(parent: parent, name: name, placement: placement) }
        return Entry(node: id, generation: 1, attr: visibleStat(real, placement, at: dir.appending(name)))
    }

    public func forget(_ node: NodeID, lookups: UInt64) {
        state.withLock { $0.forget(node, lookups) }
    }

    /// How many nodes the engine holds (for tests and memory reports).
    public var nodeCount: Int { state.withLock { $0.nodes.count } }
}
