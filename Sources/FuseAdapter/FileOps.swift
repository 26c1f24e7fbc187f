import CFuse
import LayerAPI
import OverlayEngine

/// open, create, read, write, release, fsync, fallocate.
func installFileOps(_ ops: inout fuse_lowlevel_ops) {
    ops.open = { req, ino, fi in
        serve(req) { req, c throws(Errno) in
            guard let fi else { throw .EINVAL }
            let who = caller(req)
            let h = try c.engine.open(ino, flags: OpenFlags(rawValue: fi.pointee.flags), caller: who)
            if fi.pointee.flags & O_TRUNC != 0, OpenKill.requested, c.killPrivNegotiated.load(ordering: .acquiring) {
                // The file is open (and truncated) already: a failure here leaves the bits set.
                do throws(Errno) {
                    _ = try c.engine.setattr(ino, AttrChanges(dropSetID: true), handle: h, caller: who)
                } catch {
                    DaemonLog.write("open with O_TRUNC of node \(ino): cannot clear setuid/setgid: \(error)")
                }
            }
            return .open(h, ino, fi)
        }
    }
    ops.create = { req, parent, cname, mode, fi in
        serve(req) { req, c throws(Errno) in
            guard let fi else { throw .EINVAL }
            let (e, h) = try c.engine.create(
                parent: parent, name: try name(cname), mode: mode, flags: OpenFlags(rawValue: fi.pointee.flags),
                caller: caller(req))
            return .create(e, h, fi)
        }
    }
    ops.read = { req, _, size, off, fi in
        serve(req) { req, c throws(Errno) in
            guard let fi else { throw .EBADF }
            return try read(req, c, handle: fi.pointee.fh, size: size, offset: off)
        }
    }
    ops.write = { req, _, buf, size, off, fi in
        serve(req) { _, c throws(Errno) in
            guard let fi else { throw .EBADF }
            let data = UnsafeRawBufferPointer(start: buf, count: buf == nil ? 0 : size)
            return .written(try c.engine.write(fi.pointee.fh, data, at: Int64(off)))
        }
    }
    // No flush: every write reaches the layer file before it is answered, so close(2) has
    // nothing to report. libfuse answers FLUSH with ENOSYS and the kernel stops sending it (one
    // request fewer per close).
    ops.release = { req, _, fi in
        serve(req) { _, c in
            if let fi {
                c.passthroughRelease(fi.pointee.fh)
                c.engine.release(fi.pointee.fh)
            }
            return .ok
        }
    }
    ops.fsync = { req, _, datasync, fi in
        serve(req) { _, c throws(Errno) in
            guard let fi else { throw .EBADF }
            try c.engine.fsync(fi.pointee.fh, dataOnly: datasync != 0)
            return .ok
        }
    }
    ops.fallocate = { req, _, mode, offset, length, fi in
        serve(req) { _, c throws(Errno) in
            guard let fi else { throw .EBADF }
            try c.engine.fallocate(fi.pointee.fh, mode: mode, offset: Int64(offset), length: Int64(length))
            return .ok
        }
    }
}

/// Replies to a read: spliced from the layer's descriptor when the engine has one, else copied
/// through a buffer.
private func read(_ req: fuse_req_t, _ c: AdapterContext, handle: HandleID, size: Int, offset: Int)
    throws(Errno) -> Reply
{
    // Over io_uring the data goes straight into the ring entry's payload (no splice there).
    if let worker = UringWorker.current, let into = worker.replyBuffer(size), let base = into.baseAddress {
        let n = try c.engine.read(handle, into: into, at: Int64(offset))
        fuse_reply_buf(req, base.assumingMemoryBound(to: CChar.self), min(max(n, 0), size))
        return .sent
    }
    if let fd = try c.engine.readDescriptor(handle) {
        var bv = fuse_bufvec()
        bv.count = 1
        bv.idx = 0
        bv.off = 0
        bv.buf.size = size
        bv.buf.flags = fuse_buf_flags(rawValue: FUSE_BUF_IS_FD.rawValue | FUSE_BUF_FD_SEEK.rawValue)
        bv.buf.fd = fd
        bv.buf.pos = offset
        // fuse_reply_data always consumes the request (it answers read errors itself). A ring
        // thread's reply must reach its ring entry, which a splice to /dev/fuse would bypass.
        fuse_reply_data(req, &bv, UringWorker.current == nil ? FUSE_BUF_SPLICE_MOVE : FUSE_BUF_NO_SPLICE)
        return .sent
    }
    guard let buffer = malloc(max(size, 1)) else { throw .ENOMEM }
    defer { free(buffer) }
    let n = try c.engine.read(handle, into: UnsafeMutableRawBufferPointer(start: buffer, count: size), at: Int64(offset))
    fuse_reply_buf(req, buffer.assumingMemoryBound(to: CChar.self), min(max(n, 0), size))
    return .sent
}
