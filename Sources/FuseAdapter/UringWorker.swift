import CFuse
import Glibc
import LayerAPI
import Synchronization
import Sys

/// One ring thread: one ring entry on one CPU's queue. Its mutable state is touched only by its
/// own thread (the writev capture runs on the thread that serves the request), hence unchecked.
final class UringWorker: @unchecked Sendable {
    let cpu: Int
    let shared: UringShared
    private var entry: FuseRingEntry?
    /// The request being served: its unique id, and whether its reply is in the buffers / committed.
    private var unique: UInt64 = 0
    private var commitID: UInt64 = 0
    private var serving = false
    private var replied = false
    private var committed = false

    init(cpu: Int, shared: UringShared) {
        self.cpu = cpu
        self.shared = shared
    }

    /// The ring thread running on the calling thread, if any.
    static var current: UringWorker? {
        guard let p = pthread_getspecific(currentKey) else { return nil }
        return Unmanaged<UringWorker>.fromOpaque(p).takeUnretainedValue()
    }

    func run() {
        defer { shared.finished.add(1, ordering: .releasing) }
        blockSignals()
        if let e = CPUs.pinCurrentThread(to: cpu), !shared.warnedPinning.exchange(true, ordering: .relaxed) {
            DaemonLog.write("io_uring queue \(cpu): thread not pinned to its CPU (\(e)); requests still served",
                level: .warning, syslog: true)
        }
        do {
            let made = try FuseRingEntry(device: shared.device, queue: UInt16(cpu), payloadCapacity: shared.payloadCapacity)
            try made.probeRegistration()
            entry = made
        } catch {
            DaemonLog.write("io_uring queue \(cpu): cannot set up a ring (\(error)); using /dev/fuse", level: .warning, syslog: true)
            shared.setupFailures.add(1, ordering: .releasing)
        }
        shared.reported.post()
        shared.go.wait()
        guard let entry, !shared.cancelled.load(ordering: .acquiring) else { return }
        pthread_setspecific(currentKey, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(currentKey, nil) }
        loop(entry)
    }

    /// Serves requests until the connection ends. While it lives, the thread never gives up its
    /// place in the CPU's queue (requests made on that CPU would wait for it): a refused commit
    /// registers the buffers again, anything else is retried with a growing pause.
    private func loop(_ entry: FuseRingEntry) {
        var failures = 0
        do { try entry.register() } catch { failures = 1 }
        while true {
            let res: Int32
            do { res = try entry.next() } catch { res = -error.rawValue }
            if res >= 0 {
                failures = 0
                do { try serve(entry) } catch { try? entry.retry() }  // queue the commit again
                continue
            }
            if res == -ENOTCONN || res == -ECANCELED || shared.stopping.load(ordering: .acquiring) { return }
            if entry.lastWasRegistration && res != -EINTR && res != -EAGAIN {
                // The kernel turned io_uring off for the connection (it logs why): /dev/fuse serves.
                DaemonLog.write("io_uring queue \(cpu): registration refused (\(Errno(rawValue: -res)))", level: .warning, syslog: true)
                return
            }
            failures += 1
            if failures == 1 || failures % 100 == 0 {
                DaemonLog.write("io_uring queue \(cpu): \(Errno(rawValue: -res)) (\(failures) in a row); retrying", level: .warning, syslog: true)
            }
            if failures > 2 { usleep(useconds_t(min(100_000, 1_000 << min(failures, 7)))) }
            do {
                if res == -EINTR || res == -EAGAIN { try entry.retry() } else { try entry.register() }
            } catch {
                continue
            }
        }
    }

    /// Serves the request in the entry's buffers and queues its commit.
    private func serve(_ entry: FuseRingEntry) throws(Errno) {
        let h = entry.header
        let length = Int(h.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        unique = h.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        commitID = h.loadUnaligned(fromByteOffset: FuseRingEntry.entInOutOffset + 8, as: UInt64.self)
        let payloadSize = Int(h.loadUnaligned(fromByteOffset: FuseRingEntry.entInOutOffset + 16, as: UInt32.self))
        let opSize = length - DeviceIO.headerSize - payloadSize
        serving = true
        replied = false
        committed = false
        if opSize >= 0 && opSize <= 128 && payloadSize <= entry.payloadCapacity,
            let se = OpaquePointer(bitPattern: shared.session)
        {
            let start = entry.payload - DeviceIO.headerSize - opSize
            start.copyMemory(from: h, byteCount: DeviceIO.headerSize)
            (start + DeviceIO.headerSize).copyMemory(from: h + FuseRingEntry.opInOffset, byteCount: opSize)
            OpenKill.note(UnsafeRawPointer(start), length: length)
            var buf = fuse_buf()
            buf.size = length
            buf.mem = start
            fuse_session_process_buf(se, &buf)
        } else {
            DaemonLog.write("io_uring queue \(cpu): malformed request (length \(length), payload \(payloadSize))",
                level: .error, syslog: true)
        }
        serving = false
        if !replied { storeReply(error: -EIO) }
        shared.served.add(1, ordering: .relaxed)
        if !committed { try entry.commit(commitID, submitNow: false) }
    }

    /// Takes a reply libfuse is writing, when it answers the request this thread is serving:
    /// the bytes go into the ring entry (fuse_out_header into the header area, the rest into the
    /// payload). Returns the byte count written, or nil when the reply is not ours (a notification).
    func capture(_ iov: UnsafePointer<iovec>, _ count: Int32) -> Int? {
        guard serving, !replied, let entry, count >= 1, iov[0].iov_len >= 16, let first = iov[0].iov_base else { return nil }
        guard first.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == unique else { return nil }
        var total = 0
        var payloadBytes = 0
        var fits = true
        for i in 0..<Int(count) {
            let len = iov[i].iov_len
            total += len
            guard let base = iov[i].iov_base else { continue }
            var source = UnsafeRawPointer(base)
            var remaining = len
            if i == 0 {
                entry.header.copyMemory(from: source, byteCount: 16)
                source += 16
                remaining -= 16
            }
            guard remaining > 0 else { continue }
            guard payloadBytes + remaining <= entry.payloadCapacity else {
                fits = false
                break
            }
            let destination = entry.payload + payloadBytes
            if destination != UnsafeMutableRawPointer(mutating: source) {
                memmove(destination, source, remaining)
            }
            payloadBytes += remaining
        }
        if fits {
            entry.header.storeBytes(of: UInt32(16 + payloadBytes), toByteOffset: 0, as: UInt32.self)
            entry.header.storeBytes(of: UInt32(payloadBytes), toByteOffset: FuseRingEntry.entInOutOffset + 16, as: UInt32.self)
        } else {
            storeReply(error: -EIO)
        }
        replied = true
        return total
    }

    /// The payload buffer, for a handler that can put its reply data there directly (read).
    func replyBuffer(_ size: Int) -> UnsafeMutableRawBufferPointer? {
        guard serving, !replied, let entry, size <= entry.payloadCapacity else { return nil }
        return UnsafeMutableRawBufferPointer(start: entry.payload, count: size)
    }

    /// Hands the captured reply to the kernel now (before notifications that must follow it).
    func commitNow() {
        guard replied, !committed, let entry else { return }
        do {
            try entry.commit(commitID, submitNow: true)
            committed = true  // queued: submitted now or with the next wait, never twice
        } catch {
            DaemonLog.write("io_uring queue \(cpu): commit failed (\(error))", level: .error, syslog: true)
        }
    }

    private func storeReply(error: Int32) {
        guard let entry else { return }
        let h = entry.header
        h.storeBytes(of: UInt32(16), toByteOffset: 0, as: UInt32.self)
        h.storeBytes(of: error, toByteOffset: 4, as: Int32.self)
        h.storeBytes(of: unique, toByteOffset: 8, as: UInt64.self)
        h.storeBytes(of: UInt32(0), toByteOffset: FuseRingEntry.entInOutOffset + 16, as: UInt32.self)
        replied = true
    }

    private func blockSignals() {
        // Asynchronous signals go to libfuse's threads (SIGTERM ends the session there).
        var set = sigset_t()
        sigfillset(&set)
        for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP] { sigdelset(&set, sig) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}

/// The thread-specific slot naming the ring thread (created once, never deleted).
private let currentKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
