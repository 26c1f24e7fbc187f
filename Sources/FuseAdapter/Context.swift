import CFuse
import LayerAPI
import OverlayEngine
import Synchronization

/// What every request handler needs: the engine and the cache timeouts. Retained once as the
/// session's userdata (`Unmanaged.passRetained`) and released after `fuse_session_destroy`.
/// Immutable after creation, so it is safe to share among libfuse's worker threads.
final class AdapterContext: Sendable {
    let engine: OverlayFS
    /// Seconds the kernel may cache a name -> node answer.
    let entryTimeout: Double
    /// Seconds the kernel may cache attributes.
    let attrTimeout: Double
    /// Names and attributes are cached for an hour or more (the default is a day): readdirplus
    /// may leave entries the kernel holds to its caches.
    var cachesLong: Bool { entryTimeout >= 3600 && attrTimeout >= 3600 }

    /// The session (an OpaquePointer's bit pattern), set once right after fuse_session_new;
    /// 0 until then. Used to send attribute invalidations.
    let session = Atomic<UInt>(0)

    /// Negotiate FUSE_CAP_POSIX_ACL (off with the noacl option).
    let posixACL: Bool

    /// Negotiate FUSE_CAP_WRITEBACK_CACHE.
    let writeback: Bool

    /// Offer FUSE passthrough to the kernel (the passthrough= option).
    let passthroughWanted: Bool
    /// The kernel accepted passthrough in the INIT reply (see DeviceIO).
    let passthroughNegotiated = Atomic<Bool>(false)
    /// The kernel accepted FUSE_HANDLE_KILLPRIV_V2 in the INIT reply (see DeviceIO).
    let killPrivNegotiated = Atomic<Bool>(false)
    /// The session's /dev/fuse descriptor, for the passthrough ioctls; -1 until mounted.
    let deviceFD = Atomic<Int32>(-1)
    /// What the INIT request offered, until INIT is answered.
    let initRequest = Mutex<InitOffer?>(nil)
    /// Serve requests over io_uring when the kernel offers it (the uring= option).
    let uringMode: UringMode
    /// Ring threads per CPU queue.
    let uringThreads: Int
    /// The io_uring transport, once offered in the INIT reply.
    let uring = Mutex<UringTransport?>(nil)
    let passthrough = Mutex(PassthroughTable())
    let pendingOpens = PendingOpens()
    /// Opens answered as passthrough so far (for the status line).
    let passthroughOpens = Atomic<Int>(0)
    /// GETXATTR requests served so far (for the status line: most are the kernel's
    /// security.capability checks before a write or chown).
    let getxattrRequests = Atomic<Int>(0)
    /// readdirplus entries left to the kernel's caches (it held them already), for the status line.
    let heldEntries = Atomic<Int>(0)
    /// The read-ahead window to set (KiB, 0: none) and the mount point it is set for.
    let readahead: (kib: Int, mountpoint: String)
    /// The max_read= mount option (0: none), repeated in the INIT reply as libfuse requires.
    let maxRead: Int
    /// Nodes whose opens never keep the page cache (see PageCache.swift).
    let sharedData = Mutex(SharedDataNodes())
    /// Directory prefetch threads, once started (after daemonizing: fork keeps no threads).
    let prefetcher = Mutex<Prefetcher?>(nil)

    init(
        engine: OverlayFS, entryTimeout: Double, attrTimeout: Double, posixACL: Bool = true, writeback: Bool = false,
        passthrough: Bool = false, readahead: (kib: Int, mountpoint: String) = (0, ""), maxRead: Int = 0,
        uring: UringMode = .off, uringThreads: Int = 2
    ) {
        self.uringMode = uring
        self.uringThreads = uringThreads
        self.maxRead = maxRead
        self.readahead = readahead
        self.engine = engine
        self.passthroughWanted = passthrough
        self.posixACL = posixACL
        self.writeback = writeback
        self.entryTimeout = entryTimeout
        self.attrTimeout = attrTimeout
    }
}

/// The bytes of a NUL-terminated C string (no terminator).
func cBytes(_ p: UnsafePointer<CChar>) -> [UInt8] {
    let n = strlen(p)
    return UnsafeRawPointer(p).withMemoryRebound(to: UInt8.self, capacity: n) {
        Array(UnsafeBufferPointer(start: $0, count: n))
    }
}

/// A directory entry name from the kernel; EINVAL when absent or not a valid single name.
func name(_ p: UnsafePointer<CChar>?) throws(Errno) -> Name {
    guard let p, let n = Name(cBytes(p)) else { throw .EINVAL }
    return n
}

/// The caller as the kernel sees them through the mount.
func caller(_ req: fuse_req_t) -> Caller {
    guard let ctx = fuse_req_ctx(req) else { return Caller(uid: 65534, gid: 65534) }
    return Caller(uid: ctx.pointee.uid, gid: ctx.pointee.gid, pid: ctx.pointee.pid, umask: ctx.pointee.umask)
}

extension AdapterContext {
    /// Tells the kernel to drop cached attributes of nodes the engine changed as a side effect
    /// (copy-up, link). Called after the request's reply, never inside it.
    func sendInvalidations() {
        let nodes = engine.takeStaleNodes()
        guard !nodes.isEmpty, let se = OpaquePointer(bitPattern: session.load(ordering: .acquiring)) else { return }
        // Over io_uring the reply is still in the ring entry: it reaches the kernel first, as a
        // /dev/fuse reply would.
        UringWorker.current?.commitNow()
        for node in Set(nodes) {
            // Offset -1: attributes only, no page-cache invalidation (takes no inode lock).
            _ = fuse_lowlevel_notify_inval_inode(se, node, -1, 0)
        }
    }
}

/// What the kernel's INIT request offered.
struct InitOffer {
    var unique: UInt64
    var passthrough: Bool
    var uring: Bool
    var killPrivV2: Bool
}

/// The uring= option.
public enum UringMode: String, Sendable, Hashable {
    /// Used when the kernel offers it (the fuse module's enable_uring parameter is on).
    case auto
    /// As auto, and as root the daemon turns the module parameter on when it is off.
    case on
    /// Never.
    case off
}

extension AdapterContext {
    /// The INIT reply went out (or failed to): io_uring threads register, or stand down.
    func initReplied(sent: Bool) {
        guard let transport = uring.withLock({ $0 }) else { return }
        if sent {
            transport.go()
        } else {
            transport.cancel()
            uring.withLock { $0 = nil }
        }
    }

    /// Ring threads after the unmount: each sees the connection end as soon as it finishes the
    /// request it may be serving (a copy-up can take a while), before the engine shuts down
    /// (bounded: where the mount lives on in another mount namespace the connection never ends).
    func stopUring() -> Bool {
        uring.withLock { $0 }?.waitForThreads(seconds: 10) ?? true
    }
}

extension AdapterContext {
    /// Starts the directory prefetch threads (none when `threads` is 0).
    func startPrefetching(threads: Int) {
        guard threads > 0 else { return }
        let started = Prefetcher(engine: engine, threads: threads)
        prefetcher.withLock { $0 = started }
    }

    func stopPrefetching() {
        prefetcher.withLock { $0 }?.stop()
    }

    /// Directories a readdirplus reply just gave the kernel: list them ahead.
    func prefetch(_ directories: [NodeID]) {
        guard !directories.isEmpty, let p = prefetcher.withLock({ $0 }) else { return }
        p.schedule(directories)
    }
}
