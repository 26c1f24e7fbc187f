import LayerAPI
import Synchronization

/// The overlay filesystem: the merged view of `lowers` (index 0 is the top lower layer) under an
/// optional writable `upper`. One public method per FUSE operation, named after it. Every method
/// is synchronous and safe to call from many threads at once.
///
/// Lock order (never take an earlier one while holding a later one):
///   1. `gates[k]`   — serialises the copy-up of one non-directory (striped by node id);
///   2. `namespace`  — serialises every change of names in the upper layer (create, remove,
///                     rename, directory copy-up, the final rename of a copy-up). Never held while
///                     file data is copied.
///   3. `state`      — the node and handle tables; held only for table updates, never across I/O.
public final class OverlayFS: Sendable {
    public let lowers: [any Layer]
    public let upper: (any UpperLayer)?
    public let options: EngineOptions

    let state: Mutex<State>
    /// Per lower layer: the stat-override xattr it uses (see OverrideStat), or nil.
    let lowerOverride: [[UInt8]?]
    /// The stat-override xattr the upper layer uses (xattr_permissions, or found on its root).
    let upperOverride: [UInt8]?
    let namespace = NamespaceLock()
    let gates: [Gate]
    let tempCounter = Atomic<UInt64>(0)
    /// Counters for the status report (SIGUSR1).
    let copyUps = Atomic<Int>(0)
    /// Directory listings built ahead, and how many of them a READDIR used (Prefetch.swift).
    let prefetchesListed = Atomic<Int>(0)
    let prefetchesServed = Atomic<Int>(0)
    let bytesCopied = Atomic<Int>(0)
    let warnings = Atomic<Int>(0)
    /// Set when `forget` shrank the node tables (see `takeCompacted`).
    let compacted = Atomic<Bool>(false)
    /// Nodes whose attributes changed as a side effect (copy-up changes ctime, link changes
    /// nlink): the kernel's cached attributes of these must be dropped. Protected by its Mutex;
    /// `hasStale` is a lock-free hint that the list is non-empty.
    let stale = Mutex<[NodeID]>([])
    let hasStale = Atomic<Bool>(false)

    public init(lowers: [any Layer], upper: (any UpperLayer)?, options: EngineOptions = EngineOptions()) throws(Errno) {
        guard !lowers.isEmpty || upper != nil else { throw .EINVAL }
        self.lowers = lowers
        self.upper = upper
        self.options = options
        self.gates = (0..<64).map { _ in Gate() }
        // The root merges every layer's root; an opaque root in a layer stops the merge below it.
        var placement = Placement(upper: upper != nil, lowers: [], type: .directory)
        var stop = false
        var devices: [UInt64] = []
        if let upper {
            devices.append(try upper.stat(RelPath.root).dev)
            stop = Self.isOpaque(upper, .root)
        }
        for (i, layer) in lowers.enumerated() {
            let st = try layer.stat(RelPath.root)
            guard st.isDirectory else { throw .ENOTDIR }
            devices.append(st.dev)
            if stop { continue }
            placement.lowers.append(i)
            if Self.isOpaque(layer, .root) { stop = true }
        }
        var state = State(root: placement)
        state.inodes.register(devices: devices)
        self.state = Mutex(state)
        self.lowerOverride = lowers.map { OverrideStat.marker(of: $0) }
        var upperName: [UInt8]?
        if let upper {
            if let wanted = OverrideStat.name(forXattrPermissions: options.xattrPermissions) {
                upperName = wanted
                // Mark the upper's root, so the layer stays self-describing when reused as a lower.
                if (try? upper.getXattr(.tree(.root), wanted)) == nil {
                    let root = try upper.stat(.tree(.root))
                    try upper.setXattr(.tree(.root), wanted, OverrideStat(root).bytes, flags: [])
                }
            } else {
                upperName = OverrideStat.marker(of: upper)
            }
        }
        self.upperOverride = upperName
    }

    public var isReadOnly: Bool { upper == nil }

    /// The upper layer, or EROFS for a read-only mount.
    func writable() throws(Errno) -> any UpperLayer {
        guard let upper else { throw .EROFS }
        return upper
    }

    /// A fresh name in the work directory.
    func tempName() -> Name {
        let n = tempCounter.add(1, ordering: .relaxed).newValue
        return Name(validated: Array("#so\(String(n, radix: 16))".utf8))
    }

    func warn(_ message: String) {
        warnings.add(1, ordering: .relaxed)
        options.log.warning(message)
    }

    /// One line for operators: table sizes and what copy-up has done.
    public func status() -> String {
        let (nodes, files) = state.withLock { ($0.nodes.count, $0.files.count) }
        return "nodes \(nodes), open files \(files), copy-ups \(copyUps.load(ordering: .relaxed)), "
            + "bytes copied \(bytesCopied.load(ordering: .relaxed)), "
            + "listings prefetched \(prefetchesListed.load(ordering: .relaxed)) (used \(prefetchesServed.load(ordering: .relaxed))), "
            + "warnings \(warnings.load(ordering: .relaxed))"
    }

    func trace(_ message: @autoclosure () -> String) {
        if let debug = options.log.debug { debug(message()) }
    }

    /// The node's current path and placement (with its lower path derived, see
    /// `Placement.lowerPath`), or ENOENT if it is gone.
    func locate(_ node: NodeID) throws(Errno) -> (path: RelPath, placement: Placement) {
        let found = state.withLock { s -> (RelPath, Placement)? in
            guard let n = s.nodes[node], let (p, lower) = s.location(of: node) else { return nil }
            var placement = n.placement
            placement.lowerPath = lower
            return (p, placement)
        }
        guard let found else { throw .ENOENT }
        return found
    }

    /// The layer object that provides a placement: the upper one if present, else the top lower.
    func providingLayer(_ placement: Placement) throws(Errno) -> any Layer {
        if placement.upper, let upper { return upper }
        guard let i = placement.lowers.first, i < lowers.count else {
            warn("node with no layer (placement \(placement))")
            throw .EIO
        }
        return lowers[i]
    }

    /// Notes that the kernel's cached attributes of `node` are out of date.
    func markStale(_ node: NodeID) {
        stale.withLock { $0.append(node) }
        hasStale.store(true, ordering: .releasing)
    }

    /// The nodes whose cached attributes the kernel should drop (see `stale`), emptied by the
    /// call. The FUSE adapter asks after each reply and sends the invalidations.
    public func takeStaleNodes() -> [NodeID] {
        guard hasStale.load(ordering: .acquiring) else { return [] }
        return stale.withLock { list in
            hasStale.store(false, ordering: .releasing)
            defer { list.removeAll() }
            return list
        }
    }

    /// Closes every open handle (at unmount).
    public func shutdown() {
        let files = state.withLock { s -> [any LayerFile] in
            let all = s.files.values.flatMap { [$0.file] + $0.retired }
            s.files.removeAll()
            return all
        }
        for f in files { f.close() }
    }
}

/// A copy-up gate: serialises copy-ups of the nodes striped onto it.
final class Gate: Sendable {
    let lock = Mutex<Void>(())
}

/// The `namespace` lock, with a generation count that is odd while a holder changes names and
/// advances on every change, so a lookup that resolved a name without the lock can tell whether
/// the answer may be stale before recording it.
final class NamespaceLock: Sendable {
    private let mutex = Mutex<Void>(())
    let generation = Atomic<UInt64>(0)

    func withLock<R: Sendable, E: Error>(_ body: (inout Void) throws(E) -> R) throws(E) -> R {
        try mutex.withLock { (v: inout Void) throws(E) -> R in
            generation.add(1, ordering: .sequentiallyConsistent)
            defer { generation.add(1, ordering: .sequentiallyConsistent) }
            return try body(&v)
        }
    }

    /// Runs `body` (which reads names but changes none) so that its answer reflects one state
    /// of the names: retried if a name changed while it ran, finally run under the lock. (A stat
    /// of a node's path racing with a replacement could otherwise report a directory for a node
    /// that is a file; the kernel then marks the inode bad and fails with EIO.)
    func stable<R: Sendable>(_ body: () throws(Errno) -> R) throws(Errno) -> R {
        for _ in 0..<4 {
            let before = generation.load(ordering: .sequentiallyConsistent)
            if before & 1 != 0 { continue }
            let result: Result<R, Errno>
            do { result = .success(try body()) } catch { result = .failure(error) }
            if generation.load(ordering: .sequentiallyConsistent) == before { return try result.get() }
        }
        return try withLock { _ throws(Errno) -> R in try body() }
    }
}
