import CFuse
import LayerAPI
import OverlayEngine

/// opendir, readdir, releasedir, fsyncdir.
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
