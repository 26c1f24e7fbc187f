import LayerAPI

/// Extended attributes (the kernel's xattrs.c): the overlay's own markers are hidden and cannot
/// be set through the mount; setting anything else copies the object up.
extension OverlayFS {
    public func getxattr(_ node: NodeID, name: [UInt8]) throws(Errno) -> [UInt8] {
        guard options.xattrs else { throw .EOPNOTSUPP }
        if Markers.isPrivateXattr(name) { throw .ENODATA }
        let (path, placement) = try locate(node)
        let value = try providingLayer(placement).getXattr(placement.providing(path), name)
        return IDXattrs.toVisible(name, value, uid: options.uidMap, gid: options.gidMap)
    }

    public func listxattr(_ node: NodeID) throws(Errno) -> [[UInt8]] {
        guard options.xattrs else { throw .EOPNOTSUPP }
        let (path, placement) = try locate(node)
        return try providingLayer(placement).listXattr(placement.providing(path)).filter { !Markers.isPrivateXattr($0) }
    }

    public func setxattr(_ node: NodeID, name: [UInt8], value: [UInt8], flags: XattrFlags, caller: Caller) throws(Errno) {
        guard options.xattrs else { throw .EOPNOTSUPP }
        let upper = try writable()
        if Markers.isPrivateXattr(name) { throw .EPERM }
        try copyUpMetadata(node)
        let (path, _) = try locate(node)
        let stored = IDXattrs.toStorage(name, value, uid: options.uidMap, gid: options.gidMap)
        try upper.setXattr(.tree(path), name, stored, flags: flags)
        trace("setxattr \(path)")
    }

    public func removexattr(_ node: NodeID, name: [UInt8], caller: Caller) throws(Errno) {
        guard options.xattrs else { throw .EOPNOTSUPP }
        let upper = try writable()
        if Markers.isPrivateXattr(name) { throw .EPERM }
        let (path, placement) = try locate(node)
        // Nothing to copy up for a name the object does not have.
        _ = try providingLayer(placement).getXattr(placement.providing(path), name)
        try copyUpMetadata(node)
        let (now, _) = try locate(node)
        try upper.removeXattr(.tree(now), name)
        trace("removexattr \(now)")
    }
}
