import LayerAPI

/// Open regular files (the kernel's file.c): open with copy-up for writing, positional I/O,
/// a read handle that follows its file into the upper layer after a copy-up.
extension OverlayFS {
    /// The flags a layer file is opened with: access mode and O_APPEND-free (the kernel sends
    /// explicit offsets), never creating.
    static func layerFlags(_ flags: OpenFlags) -> OpenFlags {
        OpenFlags(rawValue: flags.rawValue & OpenFlags.accessModeMask)
    }

    /// `layerFlags`, widened to read-write for a write-only open when the kernel caches writes
    /// (it then reads pages it does not have through any handle).
    func openFlags(_ flags: OpenFlags) -> OpenFlags {
        let f = Self.layerFlags(flags)
        return options.writebackCache && f == .writeOnly ? .readWrite : f
    }

    public func open(_ node: NodeID, flags: OpenFlags, caller: Caller) throws(Errno) -> HandleID {
        let wantsWrite = flags.isWritable || flags.contains(.truncate)
        if wantsWrite {
            _ = try writable()
            try copyUp(node, skipData: flags.contains(.truncate))
        }
        let (path, placement) = try locate(node)
        if placement.type == .directory { throw .EISDIR }
        guard placement.type == .regular else { throw .EINVAL }
        var layerFlags = openFlags(flags)
        let file: any LayerFile
        if let data = placement.data {
            file = try openMetacopyData(node, path, data, layerFlags)
        } else if placement.upper, let upper {
            if flags.contains(.truncate) && flags.isWritable { layerFlags.insert(.truncate) }
            file = try upper.open(.tree(path), layerFlags)
        } else {
            file = try providingLayer(placement).open(placement.providing(path), layerFlags)
        }
        return state.withLock { s in
            s.addFile(OpenFile(node: node, file: file, fromUpper: placement.upper && placement.data == nil, flags: flags))
        }
    }

    public func create(
        parent: NodeID, name: Name, mode: UInt32, flags: OpenFlags, caller: Caller
    ) throws(Errno) -> (Entry, HandleID) {
        var layerFlags = openFlags(flags)
        if !layerFlags.isWritable { layerFlags = .readWrite }  // O_CREAT|O_RDONLY still creates
        var opened: (any LayerFile)?
        let entry = try makeObject(parent: parent, name: name, caller: caller, type: .regular) {
            (upper, place, _) throws(Errno) in
            opened = try upper.create(place, flags: layerFlags, mode: mode & ModeBits.permissionMask)
        }
        guard let file = opened else {
            warn("create of \(name) returned no file")
            throw .EIO
        }
        let handle = state.withLock { s in
            s.addFile(OpenFile(node: entry.node, file: file, fromUpper: true, flags: flags))
        }
        return (entry, handle)
    }

    /// The layer file of a handle, reopened from the upper layer if the node was copied up after
    /// this read-only handle was opened (so readers see what writers wrote, as with the kernel).
    func handleFile(_ handle: HandleID) throws(Errno) -> any LayerFile {
        let (open, placement) = try state.withLock { s throws(Errno) -> (OpenFile, Placement?) in
            guard let f = s.files[handle] else { throw .EBADF }
            s.nodes[f.node]?.attrsStale = true  // a read: the kernel marks atime stale
            return (f, s.nodes[f.node]?.placement)
        }
        guard !open.fromUpper, let placement, placement.upper, placement.data == nil, let upper else { return open.file }
        guard let path = state.withLock({ $0.path(of: open.node) }) else { return open.file }
        let fresh = try upper.open(.tree(path), Self.layerFlags(open.flags))
        let swapped = state.withLock { s -> Bool in
            guard var f = s.files[handle], !f.fromUpper else { return false }
            f.retired.append(f.file)
            f.file = fresh
            f.fromUpper = true
            s.files[handle] = f
            return true
        }
        if swapped { return fresh }
        fresh.close()
        return try handleFile(handle)
    }

    func writableHandleFile(_ handle: HandleID) throws(Errno) -> any LayerFile {
        let f = try state.withLock { s throws(Errno) -> OpenFile in
            guard let f = s.files[handle] else { throw .EBADF }
            s.nodes[f.node]?.attrsStale = true  // a write: the kernel marks size and times stale
            return f
        }
        guard f.fromUpper, f.flags.isWritable else { throw .EBADF }
        return f.file
    }

    public func read(_ handle: HandleID, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let file = try handleFile(handle)
        var total = 0
        while total < buffer.count {
            let n = try file.read(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]), at: offset + Int64(total))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// The kernel descriptor behind a handle, for zero-copy (splice) replies; nil when the layer
    /// has none.
    public func readDescriptor(_ handle: HandleID) throws(Errno) -> Int32? {
        try handleFile(handle).descriptor
    }

    /// The kernel descriptor of a handle whose file is the node's data for good: a whole file in
    /// the upper layer (no metadata-only copy, nothing left to copy up). Reads and writes may then
    /// bypass the engine (FUSE passthrough) without missing a copy-up. Nil for any other handle.
    public func passthroughDescriptor(_ handle: HandleID) -> Int32? {
        state.withLock { s in
            guard let f = s.files[handle], f.fromUpper else { return nil }
            return f.file.descriptor
        }
    }

    public func write(_ handle: HandleID, _ data: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let file = try writableHandleFile(handle)
        var total = 0
        while total < data.count {
            let n = try file.write(UnsafeRawBufferPointer(rebasing: data[total...]), at: offset + Int64(total))
            guard n > 0 else { break }
            total += n
        }
        return total
    }

    public func fsync(_ handle: HandleID, dataOnly: Bool) throws(Errno) {
        let file = try handleFile(handle)
        if options.fsync { try file.sync(dataOnly: dataOnly) }
    }

    public func release(_ handle: HandleID) {
        let f = state.withLock { $0.removeFile(handle) }
        f?.file.close()
        for old in f?.retired ?? [] { old.close() }
    }

    public func fallocate(_ handle: HandleID, mode: Int32, offset: Int64, length: Int64) throws(Errno) {
        try writableHandleFile(handle).allocate(mode: mode, offset: offset, length: length)
    }
}
