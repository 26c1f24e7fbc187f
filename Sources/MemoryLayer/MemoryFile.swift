import LayerAPI

/// An open regular file (or read-only directory) of a `MemoryLayer`. It holds its inode, so it
/// keeps working after the last link is gone, like a real descriptor. All state lives in the
/// layer's tree under its mutex; this object only names its handle.
public class MemoryFile: LayerFile, @unchecked Sendable {
    let layer: MemoryLayer
    let handle: UInt64
    let ino: UInt64
    let flags: OpenFlags

    init(layer: MemoryLayer, handle: UInt64, ino: UInt64, flags: OpenFlags) {
        self.layer = layer
        self.handle = handle
        self.ino = ino
        self.flags = flags
    }

    deinit { close() }

    public var descriptor: Int32? { nil }

    /// Runs `body` on this file's inode, EBADF once closed.
    func withInode<R: Sendable>(
        _ operation: MemoryLayer.Operation, _ body: (Tree, Inode) throws(Errno) -> R
    ) throws(Errno) -> R {
        try layer.locked(operation) { (tree) throws(Errno) in
            guard tree.openHandles.contains(handle) else { throw .EBADF }
            return try body(tree, try tree.inode(ino))
        }
    }

    private var readable: Bool { flags.rawValue & OpenFlags.accessModeMask != OpenFlags.writeOnly.rawValue }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try withInode(.fileRead) { (tree, node) throws(Errno) in
            guard readable else { throw .EBADF }
            guard !node.isDirectory else { throw .EISDIR }
            guard offset >= 0 else { throw .EINVAL }
            if !flags.contains(.noATime) { node.touchAccessed(tree.now()) }
            let size = Int64(node.data.count)
            guard offset < size, buffer.count > 0 else { return 0 }
            let count = Int(min(Int64(buffer.count), size - offset))
            let start = Int(offset)
            node.data.withUnsafeBytes { src in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<start + count]))
            }
            return count
        }
    }

    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try withInode(.fileWrite) { (tree, node) throws(Errno) in
            guard flags.isWritable else { throw .EBADF }
            guard offset >= 0 else { throw .EINVAL }
            guard buffer.count > 0 else { return 0 }
            let start = flags.contains(.append) ? Int64(node.data.count) : offset
            let (end, overflow) = start.addingReportingOverflow(Int64(buffer.count))
            guard !overflow, end <= Tree.maxFileSize else { throw .EFBIG }
            if end > Int64(node.data.count) { try tree.resize(node, to: end) }
            let s = Int(start)
            node.data.withUnsafeMutableBytes { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[s..<s + buffer.count]).copyMemory(from: buffer)
            }
            node.touchModified(tree.now())
            node.killPriv()
            return buffer.count
        }
    }

    public func stat() throws(Errno) -> FileStat {
        try withInode(.fileStat) { (tree, node) throws(Errno) in node.stat(dev: tree.dev) }
    }

    public func truncate(_ size: Int64) throws(Errno) {
        try withInode(.fileTruncate) { (tree, node) throws(Errno) in
            guard flags.isWritable, node.type == .regular, size >= 0 else { throw .EINVAL }
            try tree.resize(node, to: size)
            node.touchModified(tree.now())
            node.killPriv()
        }
    }

    public func sync(dataOnly: Bool) throws(Errno) {
        try withInode(.fileSync) { (_, _) throws(Errno) in }
    }

    static let keepSize: Int32 = 0x01
    static let punchHole: Int32 = 0x02
    static let zeroRange: Int32 = 0x10

    public func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {
        try withInode(.fileAllocate) { (tree, node) throws(Errno) in
            guard flags.isWritable else { throw .EBADF }
            guard offset >= 0, length > 0 else { throw .EINVAL }
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, end <= Tree.maxFileSize else { throw .EFBIG }
            let keep = mode & MemoryFile.keepSize != 0
            let size = Int64(node.data.count)
            switch mode & ~MemoryFile.keepSize {
            case 0:
                if !keep && end > size {
                    try tree.resize(node, to: end)
                    node.touchModified(tree.now())
                }
            case MemoryFile.punchHole, MemoryFile.zeroRange:
                if mode & MemoryFile.punchHole != 0 && !keep { throw .EOPNOTSUPP }
                let zeroEnd = keep ? min(end, size) : end
                if !keep && end > size { try tree.resize(node, to: end) }
                if offset < zeroEnd {
                    node.data.replaceSubrange(
                        Int(offset)..<Int(zeroEnd), with: repeatElement(0, count: Int(zeroEnd - offset)))
                }
                node.touchModified(tree.now())
            default:
                throw .EOPNOTSUPP
            }
        }
    }

    public func nextData(from offset: Int64) throws(Errno) -> Int64? {
        try withInode(.fileNextData) { (_, node) throws(Errno) in
            offset >= 0 && offset < Int64(node.data.count) ? offset : nil
        }
    }

    public func nextHole(from offset: Int64) throws(Errno) -> Int64 {
        try withInode(.fileNextHole) { (_, node) throws(Errno) in
            let size = Int64(node.data.count)
            guard offset >= 0, offset < size else { throw .ENXIO }
            return size
        }
    }

    public func copy(to destination: any LayerFile, from: Int64, to: Int64, length: Int) throws(Errno) -> Int? {
        nil
    }

    public func close() {
        layer.state.withLock { tree in
            guard tree.openHandles.remove(handle) != nil, let node = tree.inodes[ino] else { return }
            node.openCount -= 1
            tree.releaseIfUnused(node)
        }
    }
}
