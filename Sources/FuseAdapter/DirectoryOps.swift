import CFuse
import LayerAPI
import OverlayEngine

/// opendir, readdir, readdirplus, releasedir, fsyncdir.
func installDirectoryOps(_ ops: inout fuse_lowlevel_ops) {
    ops.opendir = { req, ino, fi in
        serve(req) { _, c throws(Errno) in
            guard let fi else { throw .EINVAL }
            let h = try c.engine.opendir(ino)
            // The kernel may keep the listing in its page cache across opens: every change of a
            // directory goes through this mount, and the kernel drops the cached listing itself
            // when one happens (the daemon is the only writer to its layers).
            fi.pointee.cache_readdir = 1
            fi.pointee.keep_cache = 1
            return .opendir(h, fi)
        }
    }
    ops.readdir = { req, _, size, off, fi in
        serve(req) { req, c throws(Errno) in
            guard let fi else { throw .EBADF }
            let entries = try c.engine.readdir(fi.pointee.fh, from: Int64(off))
            return try fillDirectory(req, entries, size: size)
        }
    }
    // Entries with their attributes: a tree walk that stats what it lists (ls -l, tar, chown -R,
    // rm -r) needs no LOOKUP per entry. The kernel asks for this form where it helps
    // (FUSE_READDIRPLUS_AUTO, libfuse's default once the op exists).
    ops.readdirplus = { req, ino, size, off, fi in
        serve(req) { req, c throws(Errno) in
            guard let fi else { throw .EBADF }
            let entries = try c.engine.readdir(fi.pointee.fh, from: Int64(off))
            return try fillDirectoryPlus(req, c, parent: ino, entries, size: size)
        }
    }
    ops.releasedir = { req, _, fi in
        serve(req) { _, c in
            if let fi { c.engine.releasedir(fi.pointee.fh) }
            return .ok
        }
    }
    ops.fsyncdir = { req, _, datasync, fi in
        serve(req) { _, c throws(Errno) in
            guard let fi else { throw .EBADF }
            try c.engine.fsyncdir(fi.pointee.fh, dataOnly: datasync != 0)
            return .ok
        }
    }
}

/// Packs entries with fuse_add_direntry into a buffer of the requested size, stopping at the
/// first entry that does not fit (the kernel asks again from its offset), and replies.
private func fillDirectory(_ req: fuse_req_t, _ entries: ArraySlice<ListedEntry>, size: Int) throws(Errno) -> Reply {
    guard let raw = malloc(max(size, 1)) else { throw .ENOMEM }
    defer { free(raw) }
    let buffer = raw.assumingMemoryBound(to: CChar.self)
    var used = 0
    var st = stat()
    var cname: [CChar] = []
    cname.reserveCapacity(256)
    for e in entries {
        st.st_ino = UInt(truncatingIfNeeded: e.ino)
        st.st_mode = e.type.modeBits
        cname.removeAll(keepingCapacity: true)
        for b in e.name { cname.append(CChar(bitPattern: b)) }
        cname.append(0)
        let needed = fuse_add_direntry(req, buffer + used, size - used, cname, &st, off_t(e.nextOffset))
        if needed > size - used { break }
        used += needed
    }
    fuse_reply_buf(req, buffer, used)
    return .sent
}

/// readdirplus: like `fillDirectory`, with each entry looked up (the kernel counts a lookup for
/// every entry it receives, "." and ".." excepted, which go without attributes). An entry that no
/// longer resolves goes out as a plain name. Lookups of entries that did not reach the kernel
/// (no room, or the reply failed) are undone.
private func fillDirectoryPlus(
    _ req: fuse_req_t, _ c: AdapterContext, parent: NodeID, _ entries: ArraySlice<ListedEntry>, size: Int
) throws(Errno) -> Reply {
    guard let raw = malloc(max(size, 1)) else { throw .ENOMEM }
    defer { free(raw) }
    let buffer = raw.assumingMemoryBound(to: CChar.self)
    var used = 0
    var looked: [NodeID] = []
    var cname: [CChar] = []
    cname.reserveCapacity(256)
    for e in entries {
        cname.removeAll(keepingCapacity: true)
        for b in e.name { cname.append(CChar(bitPattern: b)) }
        cname.append(0)
        if fuse_add_direntry_plus(req, nil, 0, cname, nil, 0) > size - used { break }
        var p = fuse_entry_param()
        let dots = e.name == [0x2E] || e.name == [0x2E, 0x2E]
        if !dots, let name = Name(e.name), let entry = try? c.engine.lookup(parent: parent, name: name) {
            p = entryParam(entry, c)
            looked.append(entry.node)
        } else {
            p.attr.st_ino = UInt(truncatingIfNeeded: e.ino)
            p.attr.st_mode = e.type.modeBits
        }
        used += fuse_add_direntry_plus(req, buffer + used, size - used, cname, &p, off_t(e.nextOffset))
    }
    if fuse_reply_buf(req, buffer, used) != 0 {
        for node in looked { c.engine.forget(node, lookups: 1) }
    }
    return .sent
}
