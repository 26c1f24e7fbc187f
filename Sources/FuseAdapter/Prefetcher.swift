import Glibc
import OverlayEngine
import Synchronization
import Sys

/// Threads that list directories ahead of a tree walk (see OverlayEngine/Prefetch.swift). A
/// readdirplus reply hands over the subdirectories it carried; the threads take the most recent
/// first (a depth-first walker such as find, tar or ls -R enters the first subdirectory of the
/// listing it just read next), and forget the oldest beyond `capacity` or older than `maxWait`
/// (the engine keeps at most `PrefetchedListings.window` listings unserved). Nothing here is
/// needed for correctness: a directory not prefetched in time is listed by its READDIR as before.
final class Prefetcher: @unchecked Sendable {
    private let engine: OverlayFS
    private let pending = Mutex<[(node: NodeID, generation: UInt64, queued: ContinuousClock.Instant)]>([])
    private let wake = Semaphore()
    private let stopped = Atomic<Bool>(false)
    private let capacity = 1024
    /// A request not started within this long is dropped (the walker has moved on or stopped).
    private let maxWait: Duration = .seconds(1)
    private var threads = 0

    /// Starts `threads` threads (at least one); nil if none could be started.
    init?(engine: OverlayFS, threads: Int) {
        self.engine = engine
        var started = 0
        for _ in 0..<max(1, threads) {
            guard startDetachedThread({ self.run() }) else { break }
            started += 1
        }
        if started == 0 { return nil }
        self.threads = started
    }

    /// Queues the directories a listing just handed to the kernel, in listing order.
    func schedule(_ nodes: [NodeID]) {
        guard !nodes.isEmpty, !stopped.load(ordering: .relaxed) else { return }
        let generation = engine.namespaceGeneration
        let queued = ContinuousClock.now
        pending.withLock { p in
            for node in nodes.reversed() { p.append((node, generation, queued)) }
            if p.count > capacity { p.removeFirst(p.count - capacity) }
        }
        // A woken thread works until the queue is empty: one wake per thread at most.
        for _ in 0..<min(nodes.count, threads) { wake.post() }
    }

    /// No more prefetches start (before the engine shuts down); threads finishing one are harmless.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        pending.withLock { $0.removeAll() }
    }

    private func run() {
        while true {
            wake.wait()
            while !stopped.load(ordering: .relaxed), let next = pending.withLock({ $0.popLast() }) {
                guard ContinuousClock.now - next.queued < maxWait else { continue }
                engine.prefetchListing(of: next.node, ifStill: next.generation)
            }
        }
    }
}
