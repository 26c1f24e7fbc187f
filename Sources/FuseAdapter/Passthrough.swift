import CFuse
import Glibc
import LayerAPI
import OverlayEngine
import Synchronization
import Sys

/// FUSE passthrough (Linux 6.9+): reads and writes of an open file go from the kernel straight to
/// its layer file, with no request to the daemon. Used for whole files in the upper layer only:
/// a lower file may still be copied up, and its open handles must then follow it, which only the
/// engine can do. The kernel's rules (fs/fuse/iomode.c) shape the bookkeeping:
/// - while an inode has a passthrough open, every open of it must be passthrough, with the same
///   backing file (else EINVAL/EBUSY);
/// - while it has a cached (page-cache) open, a passthrough open fails (ETXTBSY).
/// So per node: one backing id shared by its passthrough opens, or a count of cached opens; a new
/// open joins whichever is active. The kernel forgets an open before it sends RELEASE, so these
/// counts are never below the kernel's: a decision made from them is always one it accepts.
struct PassthroughTable {
    struct Backing {
        var id: Int32
        var opens: Int
    }

    var backing: [NodeID: Backing] = [:]
    var cachedOpens: [NodeID: Int] = [:]
    /// Each open handle: its node and whether it was answered as passthrough.
    var handles: [HandleID: (node: NodeID, passthrough: Bool)] = [:]
    /// Set when registering a backing file is refused for good (no CAP_SYS_ADMIN in the initial
    /// user namespace, or a kernel without the ioctl); every open is then a cached one.
    var refused = false

    /// Records an open of `node` and returns the backing id to answer it with, or nil for a
    /// cached open. `descriptor` is the engine's passthrough descriptor for the handle (nil: not
    /// eligible). Registers a backing file with the kernel through `register`.
    mutating func open(
        _ handle: HandleID, node: NodeID, descriptor: Int32?, register: (Int32) throws(Errno) -> Int32
    ) -> Int32? {
        if var b = backing[node] {
            b.opens += 1
            backing[node] = b
            handles[handle] = (node, true)
            return b.id
        }
        if !refused, let fd = descriptor, cachedOpens[node, default: 0] == 0 {
            do {
                let id = try register(fd)
                backing[node] = Backing(id: id, opens: 1)
                handles[handle] = (node, true)
                return id
            } catch {
                if error == .EPERM || error == Errno(rawValue: ENOTTY) || error == .EOPNOTSUPP {
                    refused = true
                    DaemonLog.write("passthrough unavailable (\(error)); reads and writes go through the daemon")
                }
            }
        }
        cachedOpens[node, default: 0] += 1
        handles[handle] = (node, false)
        return nil
    }

    /// Forgets `handle`; returns a backing id that no open uses any more (to unregister).
    mutating func release(_ handle: HandleID) -> Int32? {
        guard let h = handles.removeValue(forKey: handle) else { return nil }
        if h.passthrough {
            guard var b = backing[h.node] else { return nil }
            b.opens -= 1
            if b.opens > 0 {
                backing[h.node] = b
                return nil
            }
            backing[h.node] = nil
            return b.id
        }
        let n = cachedOpens[h.node, default: 1] - 1
        cachedOpens[h.node] = n > 0 ? n : nil
        return nil
    }
}

extension AdapterContext {
    /// Decides how the kernel opens `handle` of `node`: the backing id for a passthrough open,
    /// or nil for an ordinary (cached) one.
    func passthroughOpen(_ handle: HandleID, node: NodeID) -> Int32? {
        guard passthroughNegotiated.load(ordering: .acquiring) else { return nil }
        let device = deviceFD.load(ordering: .acquiring)
        let descriptor = engine.passthroughDescriptor(handle)
        return passthrough.withLock { t in
            t.open(handle, node: node, descriptor: descriptor) { fd throws(Errno) in
                try FuseDevice.openBacking(device: device, file: fd)
            }
        }
    }

    /// Sends an open or create reply (`reply` is the fuse_reply_* call with `fi`; 0 = sent), as
    /// passthrough when `passthroughOpen` says so, else as a cached open that keeps the page
    /// cache where that is safe. False when the kernel did not get the reply: the caller then
    /// releases the handle.
    func replyOpen(
        _ handle: HandleID, node: NodeID, _ fi: UnsafeMutablePointer<fuse_file_info>, _ reply: () -> Int32
    ) -> Bool {
        guard let id = passthroughOpen(handle, node: node) else {
            setKeepCache(fi, node: node)
            let ok = reply() == 0
            if !ok { passthroughRelease(handle) }
            return ok
        }
        var status: Int32 = 0
        let carried = pendingOpens.sending(.init(handle: handle, backingID: id)) { status = reply() }
        if status != 0 {
            passthroughRelease(handle)
            return false
        }
        if carried {
            passthroughOpens.add(1, ordering: .relaxed)
        } else {
            DaemonLog.write("open reply for handle \(handle) went out without its passthrough fields")
            passthroughDowngrade(handle, node: node)
        }
        return true
    }

    /// The kernel answered `handle`'s open without passthrough after all (the reply could not
    /// carry it): count it as the cached open it is.
    func passthroughDowngrade(_ handle: HandleID, node: NodeID) {
        passthroughRelease(handle)
        passthrough.withLock { t in
            t.cachedOpens[node, default: 0] += 1
            t.handles[handle] = (node, false)
        }
    }

    /// The status line's passthrough part.
    var passthroughStatus: String {
        let state =
            !passthroughNegotiated.load(ordering: .acquiring)
            ? "off" : passthrough.withLock { $0.refused ? "refused" : "on, \($0.backing.count) backing files" }
        return "passthrough \(state), passthrough opens \(passthroughOpens.load(ordering: .relaxed))"
    }

    func passthroughRelease(_ handle: HandleID) {
        guard let id = passthrough.withLock({ $0.release(handle) }) else { return }
        do {
            try FuseDevice.closeBacking(device: deviceFD.load(ordering: .acquiring), id: id)
        } catch {
            DaemonLog.write("cannot unregister passthrough backing file \(id): \(error)")
        }
    }
}
