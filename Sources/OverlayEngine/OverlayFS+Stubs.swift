import LayerAPI

// Temporary: the public surface of the engine, so the adapter can be written against it.
extension OverlayFS {
    public func lookup(parent: NodeID, name: Name) throws(Errno) -> Entry { throw .ENOSYS }
    public func forget(_ node: NodeID, lookups: UInt64) {}
    public func getattr(_ node: NodeID) throws(Errno) -> FileStat { throw .ENOSYS }
    public func setattr(_ node: NodeID, _ changes: AttrChanges, handle: HandleID?, caller: Caller) throws(Errno) -> FileStat { throw .ENOSYS }
    public func readlink(_ node: NodeID) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func mknod(parent: NodeID, name: Name, mode: UInt32, rdev: UInt64, caller: Caller) throws(Errno) -> Entry { throw .ENOSYS }
    public func mkdir(parent: NodeID, name: Name, mode: UInt32, caller: Caller) throws(Errno) -> Entry { throw .ENOSYS }
    public func symlink(parent: NodeID, name: Name, target: [UInt8], caller: Caller) throws(Errno) -> Entry { throw .ENOSYS }
    public func link(_ node: NodeID, newParent: NodeID, newName: Name, caller: Caller) throws(Errno) -> Entry { throw .ENOSYS }
    public func unlink(parent: NodeID, name: Name) throws(Errno) { throw .ENOSYS }
    public func rmdir(parent: NodeID, name: Name) throws(Errno) { throw .ENOSYS }
    public func rename(parent: NodeID, name: Name, newParent: NodeID, newName: Name, flags: RenameFlags) throws(Errno) { throw .ENOSYS }
    public func open(_ node: NodeID, flags: OpenFlags, caller: Caller) throws(Errno) -> HandleID { throw .ENOSYS }
    public func create(parent: NodeID, name: Name, mode: UInt32, flags: OpenFlags, caller: Caller) throws(Errno) -> (Entry, HandleID) { throw .ENOSYS }
    public func read(_ handle: HandleID, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int { throw .ENOSYS }
    public func readDescriptor(_ handle: HandleID) throws(Errno) -> Int32? { throw .ENOSYS }
    public func write(_ handle: HandleID, _ data: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int { throw .ENOSYS }
    public func flush(_ handle: HandleID) throws(Errno) {}
    public func fsync(_ handle: HandleID, dataOnly: Bool) throws(Errno) { throw .ENOSYS }
    public func release(_ handle: HandleID) {}
    public func fallocate(_ handle: HandleID, mode: Int32, offset: Int64, length: Int64) throws(Errno) { throw .ENOSYS }
    public func opendir(_ node: NodeID) throws(Errno) -> HandleID { throw .ENOSYS }
    public func readdir(_ handle: HandleID, from offset: Int64) throws(Errno) -> ArraySlice<ListedEntry> { throw .ENOSYS }
    public func releasedir(_ handle: HandleID) {}
    public func fsyncdir(_ handle: HandleID, dataOnly: Bool) throws(Errno) {}
    public func statfs() throws(Errno) -> FSStat { throw .ENOSYS }
    public func getxattr(_ node: NodeID, name: [UInt8]) throws(Errno) -> [UInt8] { throw .ENOSYS }
    public func listxattr(_ node: NodeID) throws(Errno) -> [[UInt8]] { throw .ENOSYS }
    public func setxattr(_ node: NodeID, name: [UInt8], value: [UInt8], flags: XattrFlags, caller: Caller) throws(Errno) { throw .ENOSYS }
    public func removexattr(_ node: NodeID, name: [UInt8], caller: Caller) throws(Errno) { throw .ENOSYS }
    /// Closes every open handle (at unmount).
    public func shutdown() {}
}
