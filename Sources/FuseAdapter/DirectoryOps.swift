import CFuse
import LayerAPI
import OverlayEngine

/// opendir, readdir, readdirplus, releasedir, fsyncdir.
func installDirectoryOps(_ ops: inout fuse_lowlevel_ops) {
    // No open-directory state: ENOSYS makes the kernel stop sending OPENDIR and RELEASEDIR
    // (two requests per directory of a tree walk) and keep listings in its page cache, which
    // it drops itself whenever a directory changes (every change goes through this mount).
    // READDIR then carries no handle; the engine serves snapshots by offset (Listings.swift).
    ops.opendir = { req, _, _ in
        serve(req) { _, _ throws(Errno) in throw .ENOSYS }
    }
    ops.readdir = { req, ino, size, off, _ in
        serve(req) { req, c throws(Errno) in
            let entries = try c.engine.readdir(node: ino, from: Int64(off))
            return try fillDirectory(req, entries, size: size)
        }
    }
    // Entries with their attributes: a tree walk that stats what it lists (ls -l, tar, chown -R,
    // rm -r) needs no LOOKUP per entry. The kernel asks for this form where it helps
    // (FUSE_READDIRPLUS_AUTO, libfuse's default once the op exists).
    ops.readdirplus = { req, ino, size, off, _ in
        serve(req) { req, c throws(Errno) in
            let entries = try c.engine.readdir(node: ino, from: Int64(off))
            return try fillDirectoryPlus(req, c, parent: ino, entries, size: size)
        }
    }
    ops.releasedir = { req, _, _ in
        serve(req) { _, _ in .ok }
    }
    ops.fsyncdir = { req, ino, datasync, _ in
        serve(req) { _, c throws(Errno) in
            try c.engine.fsyncdir(node: ino, dataOnly: datasync != 0)
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
///
/// An entry the kernel already holds (it looked the name up and has not forgotten it) also goes
/// out as a plain name (node id 0: the kernel keeps its dentry and attributes as they are) when
/// the kernel caches names and attributes for long (`c.cachesLong`): every change goes through
/// the mount, so what it holds is current, and a second lookup would only cost a layer stat and
/// refresh a cache that needs no refresh. A warm `find` or `ls -lR`, or an `rm -rf` of files made
/// through the mount, then reads each directory without a stat per entry. With short timeouts the
/// refresh is worth it (each name would otherwise be looked up again after its timeout).
private func fillDirectoryPlus(
    _ req: fuse_req_t, _ c: AdapterContext, parent: NodeID, _ entries: ArraySlice<ListedEntry>, size: Int
) throws(Errno) -> Reply {
    guard let raw = malloc(max(size, 1)) else { throw .ENOMEM }
    defer { free(raw) }
    let buffer = raw.assumingMemoryBound(to: CChar.self)
    var used = 0
    var looked: [NodeID] = []
    var directories: [NodeID] = []
    var heldCount = 0
    var cname: [CChar] = []
    cname.reserveCapacity(256)
    for e in entries {
        cname.removeAll(keepingCapacity: true)
        for b in e.name { cname.append(CChar(bitPattern: b)) }
        cname.append(0)
        if fuse_add_direntry_plus(req, nil, 0, cname, nil, 0) > size - used { break }
        var p = fuse_entry_param()
        let dots = e.name == [0x2E] || e.name == [0x2E, 0x2E]
        let held = !dots && c.cachesLong && c.engine.kernelHolds(parent: parent, name: e.name, type: e.type)
        if held { heldCount += 1 }
        if !dots, !held, let entry = try? c.engine.lookup(parent: parent, listed: e) {
            p = entryParam(entry, c)
            looked.append(entry.node)
            if entry.attr.isDirectory { directories.append(entry.node) }
        } else {
            p.attr.st_ino = UInt(truncatingIfNeeded: e.ino)
            p.attr.st_mode = e.type.modeBits
        }
        used += fuse_add_direntry_plus(req, buffer + used, size - used, cname, &p, off_t(e.nextOffset))
    }
    if fuse_reply_buf(req, buffer, used) != 0 {
        for node in looked { c.engine.forget(node, lookups: 1) }
    } else {
        if heldCount > 0 { c.heldEntries.add(heldCount, ordering: .relaxed) }
        c.prefetch(directories)
    }
    return .sent
}
