import CFuse
import Glibc
import LayerAPI
import OverlayEngine
import Synchronization
import Sys

/// libfuse's custom I/O (fuse_session_custom_io) on the session's own /dev/fuse descriptor: the
/// same read, writev and splice libfuse makes, plus the two things libfuse 3.14 cannot say by
/// itself because it predates FUSE protocol 7.40:
/// - the INIT reply offers passthrough (flags2 FUSE_PASSTHROUGH, max_stack_depth 1) when the
///   kernel offered it and the writeback cache is off (the kernel refuses the two together);
/// - an open or create reply for a passthrough open carries FOPEN_PASSTHROUGH and the backing id;
/// - the INIT reply agrees FUSE_HANDLE_KILLPRIV_V2 when offered (see `patchKillPriv`).
/// libfuse writes each reply synchronously on the worker thread that called fuse_reply_*, so a
/// handler arms the patch for its own thread (`PendingOpens`) right before replying.
enum DeviceIO {
    static let headerSize = 40  // struct fuse_in_header
    static let opcodeInit: UInt32 = 26  // FUSE_INIT
    static let initExt: UInt32 = 1 << 30  // FUSE_INIT_EXT (flags)
    static let writebackCache: UInt32 = 1 << 16  // FUSE_WRITEBACK_CACHE (flags)
    static let passthroughFlags2: UInt32 = 1 << 5  // FUSE_PASSTHROUGH = 1 << 37 (flags2)
    static let overIOUringFlags2: UInt32 = 1 << 9  // FUSE_OVER_IO_URING = 1 << 41 (flags2)
    static let maxPagesFlag: UInt32 = 1 << 22  // FUSE_MAX_PAGES (flags)
    static let killPrivV2: UInt32 = 1 << 28  // FUSE_HANDLE_KILLPRIV_V2 (flags)
    static let openPassthrough: UInt32 = 1 << 7  // FOPEN_PASSTHROUGH
    static let openOutSize = 16  // struct fuse_open_out { fh; open_flags; backing_id }

    static func install(_ se: OpaquePointer, _ context: AdapterContext) -> Bool {
        let fd = fuse_session_fd(se)
        guard fd >= 0 else { return false }
        context.deviceFD.store(fd, ordering: .releasing)
        var io = fuse_custom_io()
        io.read = { fd, buffer, count, userdata in
            let n = FuseDevice.read(fd, buffer, count)
            if n >= DeviceIO.headerSize, let buffer {
                OpenKill.note(UnsafeRawPointer(buffer), length: n)
                if n >= DeviceIO.headerSize + 20, let c = DeviceIO.context(userdata) {
                    DeviceIO.sawRequest(UnsafeRawPointer(buffer), c)
                }
            }
            return n
        }
        io.writev = { fd, iov, count, userdata in
            guard let iov, let c = DeviceIO.context(userdata) else { return FuseDevice.writev(fd, iov, count) }
            let isInit = count == 2 && DeviceIO.patchReply(iov, c)
            // A reply to a request that came over io_uring goes back into its ring entry.
            if let worker = UringWorker.current, let n = worker.capture(iov, count) { return n }
            let n = FuseDevice.writev(fd, iov, count)
            if isInit {
                // The kernel has applied the INIT reply (which can only lower the read-ahead window).
                if n > 0 { c.setReadahead() }
                c.initReplied(sent: n > 0)
            }
            return n
        }
        io.splice_send = { fdIn, offIn, fdOut, offOut, length, flags, _ in
            FuseDevice.splice(fdIn, offIn, fdOut, offOut, length, flags)
        }
        return fuse_session_custom_io(se, &io, fd) == 0
    }

    private static func context(_ userdata: UnsafeMutableRawPointer?) -> AdapterContext? {
        userdata.map { Unmanaged<AdapterContext>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Notes the INIT request: its unique id and whether the kernel offers passthrough and io_uring.
    private static func sawRequest(_ buffer: UnsafeRawPointer, _ c: AdapterContext) {
        guard buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == opcodeInit else { return }
        let unique = buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let flags = buffer.loadUnaligned(fromByteOffset: headerSize + 12, as: UInt32.self)
        let flags2 = buffer.loadUnaligned(fromByteOffset: headerSize + 16, as: UInt32.self)
        let ext = flags & initExt != 0
        let offer = InitOffer(
            unique: unique, passthrough: ext && flags2 & passthroughFlags2 != 0, uring: ext && flags2 & overIOUringFlags2 != 0,
            killPrivV2: flags & killPrivV2 != 0)
        c.initRequest.withLock { $0 = offer }
    }

    /// Patches an open, create or INIT reply; true when it is the INIT reply.
    private static func patchReply(_ iov: UnsafeMutablePointer<iovec>, _ c: AdapterContext) -> Bool {
        guard let header = iov[0].iov_base, iov[0].iov_len >= 16, let payload = iov[1].iov_base else { return false }
        guard header.loadUnaligned(fromByteOffset: 4, as: Int32.self) == 0 else { return false }
        let unique = header.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        if let pending = c.pendingOpens.take() {
            patchOpen(payload, length: iov[1].iov_len, pending, c)
        } else if let offer = c.initRequest.withLock({ $0 }), unique == offer.unique {
            c.initRequest.withLock { $0 = nil }
            patchInit(payload, length: iov[1].iov_len, offered: offer.passthrough, c)
            if offer.killPrivV2 { patchKillPriv(payload, length: iov[1].iov_len, c) }
            if offer.uring { offerUring(payload, length: iov[1].iov_len, c) }
            return true
        }
        return false
    }

    /// Offers FUSE_OVER_IO_URING in the INIT reply once the ring threads are ready (see Uring.swift).
    private static func offerUring(_ payload: UnsafeMutableRawPointer, length: Int, _ c: AdapterContext) {
        guard c.uringMode != .off, length >= 40, let se = OpaquePointer(bitPattern: c.session.load(ordering: .acquiring))
        else { return }
        let flags = payload.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        guard flags & initExt != 0 else { return }
        // The kernel's payload size: max(8 KiB, max_write, max_pages pages) (32 pages without FUSE_MAX_PAGES).
        let maxWrite = Int(payload.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        let maxPages = flags & maxPagesFlag != 0 ? Int(payload.loadUnaligned(fromByteOffset: 28, as: UInt16.self)) : 32
        let capacity = max(8192, maxWrite, maxPages * FuseRingEntry.pageSize)
        guard let transport = UringTransport.prepare(
            session: se, device: c.deviceFD.load(ordering: .acquiring), payloadCapacity: capacity,
            threadsPerQueue: c.uringThreads)
        else { return }
        let flags2 = payload.loadUnaligned(fromByteOffset: 32, as: UInt32.self)
        payload.storeBytes(of: flags2 | overIOUringFlags2, toByteOffset: 32, as: UInt32.self)
        c.uring.withLock { $0 = transport }
    }

    /// struct fuse_init_out: flags at 12, flags2 at 32, max_stack_depth at 36 (protocol 7.40).
    private static func patchInit(_ payload: UnsafeMutableRawPointer, length: Int, offered: Bool, _ c: AdapterContext) {
        guard c.passthroughWanted, offered, length >= 40 else { return }
        let flags = payload.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        guard flags & initExt != 0, flags & writebackCache == 0 else { return }
        let flags2 = payload.loadUnaligned(fromByteOffset: 32, as: UInt32.self)
        payload.storeBytes(of: flags2 | passthroughFlags2, toByteOffset: 32, as: UInt32.self)
        payload.storeBytes(of: UInt32(1), toByteOffset: 36, as: UInt32.self)
        c.passthroughNegotiated.store(true, ordering: .releasing)
    }

    /// Agrees FUSE_HANDLE_KILLPRIV_V2 (flags at 12 of fuse_init_out). Its point: the kernel then
    /// marks the superblock SB_NOSEC, so once a file is known to have neither setuid/setgid bits
    /// nor security.capability it stops asking GETXATTR security.capability before every
    /// write(2) (a round trip per write, passthrough writes included: 4k random writes to an
    /// upper file 2.84 s -> 0.57 s, kernel overlayfs 0.58 s). In exchange the daemon clears the
    /// setid bits when asked (attrChanges). security.capability stays the kernel's (it removes
    /// it through the mount when a write or chown finds it; the upper filesystem also drops it
    /// when the daemon or a passthrough write changes the file).
    private static func patchKillPriv(_ payload: UnsafeMutableRawPointer, length: Int, _ c: AdapterContext) {
        guard length >= 16 else { return }
        let flags = payload.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        payload.storeBytes(of: flags | killPrivV2, toByteOffset: 12, as: UInt32.self)
        c.killPrivNegotiated.store(true, ordering: .releasing)
    }

    /// The fuse_open_out ends the payload of both open and create replies.
    private static func patchOpen(
        _ payload: UnsafeMutableRawPointer, length: Int, _ pending: PendingOpens.Pending, _ c: AdapterContext
    ) {
        guard length >= openOutSize else { return }
        let at = length - openOutSize
        guard payload.loadUnaligned(fromByteOffset: at, as: UInt64.self) == pending.handle else { return }
        let flags = payload.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self)
        payload.storeBytes(of: flags | openPassthrough, toByteOffset: at + 8, as: UInt32.self)
        payload.storeBytes(of: pending.backingID, toByteOffset: at + 12, as: Int32.self)
        c.pendingOpens.markSent()
    }
}

/// The passthrough open reply each worker thread is about to send (keyed by pthread_self).
final class PendingOpens: Sendable {
    struct Pending {
        var handle: HandleID
        var backingID: Int32
    }

    private let byThread = Mutex<[UInt: (pending: Pending?, sent: Bool)]>([:])
    private let armed = Atomic<Int>(0)

    /// Runs `reply` (one fuse_reply_* call) with the patch armed; returns whether the reply that
    /// went out carried it.
    func sending(_ pending: Pending, _ reply: () -> Void) -> Bool {
        let me = UInt(pthread_self())
        byThread.withLock { $0[me] = (pending, false) }
        armed.add(1, ordering: .relaxed)
        reply()
        armed.subtract(1, ordering: .relaxed)
        return byThread.withLock { $0.removeValue(forKey: me)?.sent ?? false }
    }

    /// The calling thread's armed patch, disarmed (so it applies to one reply at most).
    func take() -> Pending? {
        guard armed.load(ordering: .relaxed) > 0 else { return nil }
        let me = UInt(pthread_self())
        return byThread.withLock { t -> Pending? in
            guard let p = t[me]?.pending else { return nil }
            t[me] = (nil, false)
            return p
        }
    }

    func markSent() {
        let me = UInt(pthread_self())
        byThread.withLock { t in
            if t[me] != nil { t[me] = (nil, true) }
        }
    }
}

/// FUSE_OPEN_KILL_SUIDGID of the OPEN request the calling thread serves. The kernel sets it on an
/// O_TRUNC open by a caller without CAP_FSETID under FUSE_HANDLE_KILLPRIV_V2 and then leaves the
/// setid bits to the daemon, but libfuse 3.14 drops the field; both transports note it from the
/// raw request right before libfuse decodes it on the same thread.
enum OpenKill {
    static let opcodeOpen: UInt32 = 14  // FUSE_OPEN; struct fuse_open_in { flags; open_flags }
    static let killSUIDGID: UInt32 = 1 << 0  // FUSE_OPEN_KILL_SUIDGID (open_flags)

    static func note(_ request: UnsafeRawPointer, length: Int) {
        guard length >= DeviceIO.headerSize + 8,
            request.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == opcodeOpen
        else { return }
        let openFlags = request.loadUnaligned(fromByteOffset: DeviceIO.headerSize + 4, as: UInt32.self)
        pthread_setspecific(key, openFlags & killSUIDGID != 0 ? UnsafeRawPointer(bitPattern: 1) : nil)
    }

    /// Whether the OPEN being served asks for it (set for every OPEN, so never stale).
    static var requested: Bool { pthread_getspecific(key) != nil }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
