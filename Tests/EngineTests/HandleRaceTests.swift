import LayerAPI
import MemoryLayer
import OverlayEngine
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A read-only handle opened before a copy-up switches to the upper copy on its next read. The
/// kernel may send several reads of one handle at once: the switch must not close the lower
/// file under a read that is still using it (EBADF, or with real descriptors, a reused number
/// reading some other file).
@Suite struct HandleRaceTests {
    @Test func concurrentReadsOfAHandleSurviveItsSwitchToTheUpperCopy() throws {
        let count = 120
        let f = try Fixture { b in
            for i in 0..<count { try b.file(b.lowers[0], "f\(i)", String(repeating: "x", count: 4096)) }
        }
        let failures = Mutex<[String]>([])
        for i in 0..<count {
            let node = try f.node("f\(i)")
            let h = try f.fs.open(node, flags: .readOnly, caller: .root)
            let start = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
            let readers = (0..<2).map { _ in
                Thread {
                    var buf = [UInt8](repeating: 0, count: 4096)
                    start.add(1, ordering: .relaxed)
                    while !stop.load(ordering: .relaxed) {
                        do {
                            _ = try buf.withUnsafeMutableBytes { b in try f.fs.read(h, into: b, at: 0) }
                        } catch {
                            failures.withLock { $0.append("f\(i): \(error)") }
                            return
                        }
                    }
                }
            }
            for r in readers { r.start() }
            while start.load(ordering: .relaxed) < 2 {}
            let w = try f.fs.open(node, flags: .writeOnly, caller: .root)  // copy-up
            var spin = 0
            while spin < 20000 { spin += 1 }
            stop.store(true, ordering: .relaxed)
            for r in readers { r.join() }
            f.fs.release(w)
            f.fs.release(h)
        }
        let seen = failures.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.count) failed reads, first: \(seen.prefix(3))")
    }
}

/// A joinable thread (Foundation-free).
final class Thread: @unchecked Sendable {
    private var tid = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let ctx = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&tid, nil, { p in
            guard let p else { return nil }
            let me = Unmanaged<Thread>.fromOpaque(p).takeRetainedValue()
            me.body()
            return nil
        }, ctx)
    }
    func join() { pthread_join(tid, nil) }
}
