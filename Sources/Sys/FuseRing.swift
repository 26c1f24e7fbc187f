import CLinux
import Glibc
import LayerAPI

/// One FUSE-over-io-uring ring entry (Linux 6.14+, protocol 7.42) with its own io_uring: the
/// header and payload buffers the kernel copies requests into and replies out of, and the two
/// commands (register the buffers; commit a reply and fetch the next request). Used by exactly
/// one thread, the one that made it: the kernel hands requests to the task that submitted the
/// command.
///
/// Memory layout: `header` is a page holding struct fuse_uring_req_header (in_out at 0, op_in at
/// 128, ring_ent_in_out at 256). `payload` starts one page into its mapping, so the request
/// header and per-op header can be laid down right before the payload and the whole request read
/// as one contiguous buffer without copying the payload. The entry keeps its own duplicate of the
/// /dev/fuse descriptor: libfuse closes the session's at unmount, and a command naming a closed
/// (or reused) descriptor number would go elsewhere.
public final class FuseRingEntry {
    public static let opInOffset = 128
    public static let entInOutOffset = 256
    /// Bytes free before `payload` (for assembling the request in front of it).
    public static var pageSize: Int { max(4096, sysconf(Int32(_SC_PAGESIZE))) }

    public let queue: UInt16
    public let payloadCapacity: Int
    public let header: UnsafeMutableRawPointer
    public let payload: UnsafeMutableRawPointer
    private let device: Int32
    private let headerLength: Int
    private let payloadMapping: UnsafeMutableRawPointer
    private let payloadMappingLength: Int
    private let iov: UnsafeMutablePointer<iovec>
    private var ring = clinux_uring()
    private var lastCommand: (op: UInt32, commit: UInt64) = (1, 0)

    static let commandRegister: UInt32 = 1  // FUSE_IO_URING_CMD_REGISTER
    static let commandCommitAndFetch: UInt32 = 2  // FUSE_IO_URING_CMD_COMMIT_AND_FETCH

    public init(device: Int32, queue: UInt16, payloadCapacity: Int) throws(Errno) {
        let page = Self.pageSize
        let capacity = (payloadCapacity + page - 1) / page * page
        guard let header = Self.map(page) else { throw lastErrno() }
        let mappingLength = page + capacity
        guard let mapping = Self.map(mappingLength) else {
            let e = lastErrno()
            munmap(header, page)
            throw e
        }
        let own = fcntl(device, F_DUPFD_CLOEXEC, 3)
        guard own >= 0 else {
            let e = lastErrno()
            munmap(header, page)
            munmap(mapping, mappingLength)
            throw e
        }
        let rc = clinux_uring_init(&ring, 4)
        guard rc == 0 else {
            Glibc.close(own)
            munmap(header, page)
            munmap(mapping, mappingLength)
            throw Errno(rawValue: -rc)
        }
        self.device = own
        self.headerLength = page
        self.queue = queue
        self.payloadCapacity = capacity
        self.header = header
        self.payloadMapping = mapping
        self.payloadMappingLength = mappingLength
        self.payload = mapping + page
        iov = .allocate(capacity: 2)
        iov[0] = iovec(iov_base: header, iov_len: page)
        iov[1] = iovec(iov_base: payload, iov_len: capacity)
    }

    deinit {
        clinux_uring_exit(&ring)
        Glibc.close(device)
        munmap(header, headerLength)
        munmap(payloadMapping, payloadMappingLength)
        iov.deallocate()
    }

    /// Registers the buffers with the kernel's queue (submitted now, answered with the first request).
    public func register() throws(Errno) {
        try prepare(Self.commandRegister, commit: 0)
        try? enter(wait: false)  // else submitted by the next `next()`
    }

    /// Before the INIT reply: a registration the kernel must refuse with EAGAIN (the connection is
    /// not initialised yet) having passed every other check on the way (io_uring's security hook,
    /// the 128-byte SQE, the fuse module parameter). Anything else means registering would fail.
    public func probeRegistration() throws(Errno) {
        try prepare(Self.commandRegister, commit: 0)
        let res = try next()
        guard res == -EAGAIN else { throw Errno(rawValue: res < 0 ? -res : EIO) }
    }

    /// Queues the commit of the reply now in the buffers (the request with this commit id) and
    /// the fetch of the next request; `submitNow` hands it to the kernel at once instead of with
    /// the next `next()`. Once this returns, the commit is queued: an error of the submission
    /// itself leaves it to the next `next()` (never queue it twice).
    public func commit(_ commitID: UInt64, submitNow: Bool) throws(Errno) {
        try prepare(Self.commandCommitAndFetch, commit: commitID)
        if submitNow { try? enter(wait: false) }
    }

    /// Submits what is queued and waits for the next completion: 0 when a request is in the
    /// buffers, else the command's negative errno (-ENOTCONN once the connection is gone).
    public func next() throws(Errno) -> Int32 {
        var res: Int32 = 0
        var data: UInt64 = 0
        while clinux_uring_take_cqe(&ring, &res, &data) == 0 {
            try enter(wait: true)
        }
        return res
    }

    /// Whether the last command queued was a registration (else a commit).
    public var lastWasRegistration: Bool { lastCommand.op == Self.commandRegister }

    /// Resubmits the last command (after EINTR or EAGAIN from the kernel).
    public func retry() throws(Errno) {
        try prepare(lastCommand.op, commit: lastCommand.commit)
    }

    private func prepare(_ op: UInt32, commit: UInt64) throws(Errno) {
        lastCommand = (op, commit)
        let rc = clinux_uring_prep_fuse(&ring, device, op, queue, commit, op == Self.commandRegister ? iov : nil, 1)
        guard rc == 0 else { throw Errno(rawValue: -rc) }
    }

    private func enter(wait: Bool) throws(Errno) {
        let rc = clinux_uring_enter(&ring, wait ? 1 : 0)
        guard rc == 0 else { throw Errno(rawValue: -rc) }
    }

    private static func map(_ length: Int) -> UnsafeMutableRawPointer? {
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        return p
    }
}
