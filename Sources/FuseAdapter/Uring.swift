import CFuse
import Glibc
import LayerAPI
import Synchronization
import Sys

/// FUSE over io_uring (Linux 6.14+, when the fuse module's enable_uring parameter is on).
///
/// Why: over /dev/fuse every request wakes a daemon thread on whichever CPU it slept on and the
/// reply wakes the caller back; on a VM each wake of an idle vCPU is an expensive IPI, and a
/// round trip costs ~25 µs. With io_uring the kernel keeps one queue per CPU and hands a request
/// to a ring entry registered on the caller's own CPU; the threads serving a queue are pinned to
/// that CPU, so the request needs no cross-CPU wake-up (~20 µs a round trip here). The reply's
/// wake-up may still move the caller to an idle CPU: Linux 6.18 does not yet wake it on the
/// current CPU for io_uring queues (see the README's benchmark notes).
///
/// How it fits libfuse 3.14 (which predates io_uring): libfuse still reads INIT, FORGET and
/// INTERRUPT from /dev/fuse (the kernel never sends those over the ring). A ring thread rebuilds
/// each request as the contiguous buffer libfuse expects (in front of the payload, so the
/// payload is not copied) and hands it to `fuse_session_process_buf`; the handler replies through
/// libfuse as usual, and the custom device I/O's writev (`capture`) puts the reply into the ring
/// entry instead of writing it to /dev/fuse. The thread then commits it and fetches the next
/// request in one io_uring_enter. Every handler replies synchronously, on its own thread, so the
/// reply a thread captures is the one for the request it is serving (checked by unique id).
///
/// Start-up: the INIT reply offers FUSE_OVER_IO_URING only once every ring thread has set up
/// its io_uring and buffers and seen a probe registration refused with EAGAIN, i.e. for the one
/// reason that goes away with the INIT reply (the kernel holds all requests until each CPU's
/// queue has an entry registered, so offering it without them would hang the mount); the
/// threads register right after the INIT reply is written. A registration the kernel refuses
/// all the same turns io_uring off for the connection and /dev/fuse keeps serving.
final class UringTransport: Sendable {
    let queues: Int
    let threadsPerQueue: Int
    private let shared: UringShared
    private let workers: [UringWorker]

    /// Starts `threadsPerQueue` threads per possible CPU and waits until each has its ring and
    /// buffers; nil (threads gone) when any could not.
    static func prepare(session: OpaquePointer, device: Int32, payloadCapacity: Int, threadsPerQueue: Int) -> UringTransport? {
        guard let queues = CPUs.possible() else {
            DaemonLog.write("io_uring not used: /sys/devices/system/cpu/possible unreadable", level: .warning, syslog: true)
            return nil
        }
        let transport = UringTransport(
            session: session, device: device, payloadCapacity: payloadCapacity, queues: queues,
            threadsPerQueue: threadsPerQueue)
        guard transport.startThreads() else {
            transport.cancel()
            return nil
        }
        return transport
    }

    private init(session: OpaquePointer, device: Int32, payloadCapacity: Int, queues: Int, threadsPerQueue: Int) {
        self.queues = queues
        // Every possible CPU needs a queue; on machines with many, one thread each is plenty.
        let perQueue = queues > 32 ? 1 : max(1, threadsPerQueue)
        self.threadsPerQueue = perQueue
        shared = UringShared(session: session, device: device, payloadCapacity: payloadCapacity)
        var workers: [UringWorker] = []
        for cpu in 0..<queues {
            for _ in 0..<perQueue { workers.append(UringWorker(cpu: cpu, shared: shared)) }
        }
        self.workers = workers
    }

    private func startThreads() -> Bool {
        var started = 0
        for worker in workers {
            guard startDetachedThread({ worker.run() }) else { break }
            started += 1
        }
        for _ in 0..<started { shared.reported.wait() }
        return started == workers.count && shared.setupFailures.load(ordering: .acquiring) == 0
    }

    /// The INIT reply (offering io_uring) reached the kernel: the threads register.
    func go() {
        for _ in workers { shared.go.post() }
    }

    /// io_uring is not used after all (INIT reply not sent, or sent without the flag).
    func cancel() {
        shared.cancelled.store(true, ordering: .releasing)
        for _ in workers { shared.go.post() }
    }

    /// After the unmount: waits (up to `seconds`) for the threads to see the connection end;
    /// false if some are still serving (the mount lives on, lazily unmounted or in another mount
    /// namespace): the session and engine must then not be torn down under them.
    func waitForThreads(seconds: Int) -> Bool {
        shared.stopping.store(true, ordering: .releasing)
        for _ in 0..<(seconds * 100) {
            if shared.finished.load(ordering: .acquiring) >= workers.count { return true }
            usleep(10_000)
        }
        return false
    }

    /// "uring 2x2 (requests n)" for the status line.
    var status: String {
        "io_uring \(queues)x\(threadsPerQueue) threads, \(shared.served.load(ordering: .relaxed)) requests"
    }
}

/// What every ring thread shares; immutable apart from the atomics and semaphores.
final class UringShared: Sendable {
    let session: UInt
    let device: Int32
    let payloadCapacity: Int
    let reported = Semaphore()
    let go = Semaphore()
    let cancelled = Atomic<Bool>(false)
    let setupFailures = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let served = Atomic<Int>(0)
    let warnedPinning = Atomic<Bool>(false)
    /// The session loop has ended: a thread retrying after errors gives up.
    let stopping = Atomic<Bool>(false)

    init(session: OpaquePointer, device: Int32, payloadCapacity: Int) {
        self.session = UInt(bitPattern: session)
        self.device = device
        self.payloadCapacity = payloadCapacity
    }
}
