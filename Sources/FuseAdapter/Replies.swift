import CFuse
import LayerAPI
import OverlayEngine

/// The one reply a handler chooses. `serve` sends it, so a handler cannot reply twice; the only
/// handlers that reply themselves (read, readdir) return `.sent`.
enum Reply {
    /// forget / forget_multi: no reply at all (fuse_reply_none).
    case none
    /// Success without data (fuse_reply_err(req, 0)).
    case ok
    case error(Errno)
    case entry(Entry)
    /// ENOENT from lookup, as a negative entry the kernel may cache for the entry timeout: every
    /// name that appears later does so through a request on this mount (create, mkdir, mknod,
    /// symlink, link, rename), which replaces the cached negative entry.
    case negativeEntry
    case attr(FileStat)
    case readlink([UInt8])
    case open(HandleID, NodeID, UnsafeMutablePointer<fuse_file_info>)
    case create(Entry, HandleID, UnsafeMutablePointer<fuse_file_info>)
    case written(Int)
    case bytes([UInt8])
    case xattrSize(Int)
    case statfs(FSStat)
    /// The handler already consumed the request (fuse_reply_data / fuse_reply_buf of a buffer it owns).
    case sent
}

/// Runs one request: finds the context, calls `body`, and sends exactly one reply, whatever
/// happens (a thrown Errno becomes fuse_reply_err).
func serve(_ req: fuse_req_t?, _ body: (fuse_req_t, AdapterContext) throws(Errno) -> Reply) {
    guard let req else { return }
    guard let raw = fuse_req_userdata(req) else {
        fuse_reply_err(req, EIO)
        return
    }
    let c = Unmanaged<AdapterContext>.fromOpaque(raw).takeUnretainedValue()
    let reply: Reply
    do {
        reply = try body(req, c)
    } catch {
        reply = .error(error)
    }
    send(req, reply, c)
    c.sendInvalidations()
}

private func send(_ req: fuse_req_t, _ reply: Reply, _ c: AdapterContext) {
    switch reply {
    case .none:
        fuse_reply_none(req)
    case .ok:
        fuse_reply_err(req, 0)
    case .error(let e):
        // 0 would mean success; never send it for a failure.
        fuse_reply_err(req, e.rawValue > 0 ? e.rawValue : EIO)
    case .entry(let e):
        var p = entryParam(e, c)
        if fuse_reply_entry(req, &p) != 0 {
            // The kernel never saw the node (interrupted request): undo the lookup count.
            c.engine.forget(e.node, lookups: 1)
        }
    case .negativeEntry:
        var p = fuse_entry_param()
        p.ino = 0
        p.entry_timeout = c.entryTimeout
        fuse_reply_entry(req, &p)
    case .attr(let s):
        var st = cStat(s)
        fuse_reply_attr(req, &st, attrTimeout(s, c))
    case .readlink(var target):
        target.append(0)
        _ = target.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { fuse_reply_readlink(req, $0.baseAddress) }
        }
    case .open(let h, let node, let fi):
        fi.pointee.fh = h
        if !c.replyOpen(h, node: node, fi, { fuse_reply_open(req, fi) }) { c.engine.release(h) }
    case .create(let e, let h, let fi):
        fi.pointee.fh = h
        var p = entryParam(e, c)
        if !c.replyOpen(h, node: e.node, fi, { fuse_reply_create(req, &p, fi) }) {
            c.engine.release(h)
            c.engine.forget(e.node, lookups: 1)
        }
    case .written(let n):
        fuse_reply_write(req, n)
    case .bytes(let b):
        _ = b.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { fuse_reply_buf(req, $0.baseAddress, $0.count) }
        }
    case .xattrSize(let n):
        fuse_reply_xattr(req, n)
    case .statfs(let s):
        var v = cStatvfs(s)
        fuse_reply_statfs(req, &v)
    case .sent:
        break
    }
}

func entryParam(_ e: Entry, _ c: AdapterContext) -> fuse_entry_param {
    var p = fuse_entry_param()
    p.ino = e.node
    p.generation = e.generation
    p.attr = cStat(e.attr)
    p.attr_timeout = attrTimeout(e.attr, c)
    p.entry_timeout = c.entryTimeout
    return p
}

/// How long the kernel may cache `s`: not at all for a non-directory with several links. Each
/// name of a hard-linked file is its own node here (FUSE's "logical inodes", see fuse_link), so
/// a change made through one name (write, truncate, chmod, utimens, link, unlink) would leave the
/// other names' cached size, mode, times and link count stale for the timeout, where kernel
/// overlayfs shows every name changed at once (found by shiftoverlay-difftest, seeds 1 and 4).
private func attrTimeout(_ s: FileStat, _ c: AdapterContext) -> Double {
    s.nlink > 1 && !s.isDirectory ? 0 : c.attrTimeout
}
