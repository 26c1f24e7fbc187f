import LayerAPI
import Synchronization

/// A faithful in-memory fake of one ext4 directory tree (plus its flat work directory), as root
/// sees it through the POSIX layer: lstat semantics, no symlink followed anywhere (an
/// intermediate symlink is ELOOP), Linux errno for every refusal, renameat2 rules, inode
/// numbers, link counts and timestamps as ext4 keeps them. Usable read-only as a lower `Layer`.
///
/// Known differences from ext4 (documented, deliberate): file data is not sparse (holes are
/// zeros; growth is charged to `capacityBytes`, SEEK_DATA/SEEK_HOLE see one data extent);
/// `system.*` xattrs (POSIX ACLs) are EOPNOTSUPP; there is no per-inode xattr space limit;
/// fifos, sockets and devices cannot be opened (ENXIO), directories neither (EISDIR).
///
/// Thread safety: `state` (one Mutex) protects the whole tree: every inode and its fields, the
/// open-file table, the capacity accounting and the injected faults. Every public method takes
/// it once. The clock is called with it held.
public final class MemoryLayer: UpperLayer {
    /// st_dev of every object of this layer.
    public let dev: UInt64
    let state: Mutex<Tree>

    private static let devCounter = Atomic<UInt64>(0)

    /// A device number no other `MemoryLayer` of this process has.
    public static func uniqueDev() -> UInt64 {
        0x6d65_6d00 + devCounter.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// - Parameters:
    ///   - dev: st_dev of the layer's objects (unique per instance by default).
    ///   - capacityBytes: size of the fake filesystem: statfs reports it, writes beyond it
    ///     fail with ENOSPC.
    ///   - clock: where "now" comes from (CLOCK_REALTIME by default); inject one for tests.
    public init(
        dev: UInt64 = MemoryLayer.uniqueDev(), capacityBytes: UInt64 = 1 << 30,
        clock: (@Sendable () -> Timespec)? = nil
    ) {
        self.dev = dev
        self.state = Mutex(Tree(dev: dev, capacityBytes: capacityBytes, clock: clock ?? realTimeNow))
    }

    /// The capacity used by statfs and the ENOSPC check; may be changed at any time.
    public var capacityBytes: UInt64 {
        get { state.withLock { $0.capacityBytes } }
        set { state.withLock { $0.capacityBytes = newValue } }
    }

    /// Bytes currently held by regular files (linked or still open).
    public var usedBytes: UInt64 { state.withLock { $0.usedBytes } }

    /// Makes the (n+1)-th call of `operation` from now fail with `errno`, once.
    public func injectFault(_ errno: Errno, on operation: Operation, after n: Int = 0) {
        state.withLock { $0.faults.append(Fault(operation: operation, errno: errno, remaining: max(0, n))) }
    }

    /// Makes the (n+1)-th layer call from now, whatever its operation, fail with `errno`, once.
    public func injectFault(_ errno: Errno, onCall n: Int) {
        state.withLock { $0.faults.append(Fault(operation: nil, errno: errno, remaining: max(0, n))) }
    }

    /// How many layer calls (of any operation) this layer has served or refused so far.
    public var callCount: Int { state.withLock { $0.calls } }

    /// True while an injected fault is still pending (has not fired yet).
    public var hasPendingFaults: Bool { state.withLock { !$0.faults.isEmpty } }

    /// The names in the work directory (for tests: it must be empty after every operation).
    public func workEntries() -> [Name] {
        state.withLock { tree in tree.inodes[tree.workIno].map { Array($0.entries.keys) } ?? [] }
    }

    /// Forgets every pending injected fault.
    public func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// Runs `body` on the locked tree after counting one call of `operation`.
    func locked<R: Sendable>(_ operation: Operation, _ body: (Tree) throws(Errno) -> R) throws(Errno) -> R {
        try state.withLock { (tree: inout sending Tree) throws(Errno) -> R in
            try tree.checkFault(operation)
            return try body(tree)
        }
    }

    // MARK: Layer (read-only, by path)

    public func stat(_ path: RelPath) throws(Errno) -> FileStat { try stat(.tree(path)) }
    public func readDirectory(_ path: RelPath) throws(Errno) -> [DirEntry] { try readDirectory(.tree(path)) }
    public func getXattr(_ path: RelPath, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        try getXattr(.tree(path), name)
    }
    public func listXattr(_ path: RelPath) throws(Errno) -> [[UInt8]] { try listXattr(.tree(path)) }
    public func open(_ path: RelPath, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        try open(.tree(path), flags)
    }

    public func readLink(_ path: RelPath) throws(Errno) -> [UInt8] {
        try locked(.readLink) { (tree) throws(Errno) in
            let node = try tree.node(.tree(path))
            guard node.type == .symlink else { throw .EINVAL }
            node.touchAccessed(tree.now())
            return node.target
        }
    }

    public func statfs() throws(Errno) -> FSStat {
        try locked(.statfs) { (tree) throws(Errno) in
            var fs = FSStat()
            fs.blocks = tree.capacityBytes / 4096
            let free = tree.capacityBytes > tree.usedBytes ? (tree.capacityBytes - tree.usedBytes) / 4096 : 0
            fs.blocksFree = free
            fs.blocksAvailable = free
            fs.files = tree.totalInodes
            let used = UInt64(tree.inodes.count)
            fs.filesFree = tree.totalInodes > used ? tree.totalInodes - used : 0
            fs.filesAvailable = fs.filesFree
            return fs
        }
    }

    // MARK: Reading through a Place

    public func stat(_ at: Place) throws(Errno) -> FileStat {
        try locked(.stat) { (tree) throws(Errno) in try tree.node(at).stat(dev: tree.dev) }
    }

    public func readDirectory(_ at: Place) throws(Errno) -> [DirEntry] {
        try locked(.readDirectory) { (tree) throws(Errno) in
            let dir = try tree.node(at)
            guard dir.isDirectory else { throw .ENOTDIR }
            var out: [DirEntry] = []
            out.reserveCapacity(dir.entries.count)
            for (name, ino) in dir.entries {
                out.append(DirEntry(name: name, type: try tree.inode(ino).type, ino: ino))
            }
            dir.touchAccessed(tree.now())
            return out
        }
    }

    public func getXattr(_ at: Place, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        try locked(.getXattr) { (tree) throws(Errno) in
            guard !name.isEmpty, name.count <= 255 else { throw .ERANGE }
            let node = try tree.node(at)
            if try XattrRules.namespace(of: name) == .user && !XattrRules.userAllowed(on: node) {
                throw .ENODATA
            }
            guard let entry = node.xattrs.first(where: { $0.name == name }) else { throw .ENODATA }
            return entry.value
        }
    }

    public func listXattr(_ at: Place) throws(Errno) -> [[UInt8]] {
        try locked(.listXattr) { (tree) throws(Errno) in try tree.node(at).xattrs.map(\.name) }
    }

    public func open(_ at: Place, _ flags: OpenFlags) throws(Errno) -> any LayerFile {
        let handle = try locked(.open) { (tree) throws(Errno) in
            let node = try tree.node(at)
            return try tree.openHandle(node, flags)
        }
        return MemoryFile(layer: self, handle: handle.id, ino: handle.ino, flags: flags)
    }
}

struct Handle: Sendable {
    let id: UInt64
    let ino: UInt64
}

extension Tree {
    /// open(2) of an existing object with O_NOFOLLOW semantics.
    func openHandle(_ node: Inode, _ flags: OpenFlags) throws(Errno) -> Handle {
        switch node.type {
        case .symlink:
            throw .ELOOP
        case .directory:
            throw .EISDIR  // only regular files are opened (the POSIX layer refuses directories)
        case .regular:
            if flags.contains(.directory) { throw .ENOTDIR }
            if flags.contains(.truncate) {
                try resize(node, to: 0)
                node.touchModified(now())
                node.killPriv()
            }
        default:
            if flags.contains(.directory) { throw .ENOTDIR }
            throw .ENXIO
        }
        return register(node)
    }

    func register(_ node: Inode) -> Handle {
        let id = nextHandle
        nextHandle += 1
        openHandles.insert(id)
        node.openCount += 1
        return Handle(id: id, ino: node.ino)
    }
}
