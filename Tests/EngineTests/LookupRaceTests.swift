import LayerAPI
import MemoryLayer
import OverlayEngine
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// lookup resolves a name outside the namespace lock. If the name changes meanwhile (a file
/// replaced by a directory), the stale answer must not be recorded over the new one: the kernel
/// would then see a node whose type changes under it, mark the inode bad and fail with EIO.
@Suite struct LookupRaceTests {
    @Test func lookupRacingWithReplacementNeverGivesANodeOfTheWrongType() throws {
        let f = try Fixture { b in try b.dirs(b.lowers[0], "x") }
        let x = try f.node("x")
        let a = Name(validated: Array("a".utf8))
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let lookers = (0..<2).map { _ in
            Thread {
                while !stop.load(ordering: .relaxed) {
                    guard let e = try? f.fs.lookup(parent: x, name: a) else { continue }
                    if let now = try? f.fs.getattr(e.node), now.type != e.attr.type {
                        failures.withLock { $0.append("node \(e.node): \(e.attr.type) then \(now.type)") }
                    }
                    f.fs.forget(e.node, lookups: 1)
                }
            }
        }
        for t in lookers { t.start() }
        for _ in 0..<1500 {
            if let (_, h) = try? f.fs.create(parent: x, name: a, mode: 0o644, flags: .writeOnly, caller: .root) {
                f.fs.release(h)
            }
            try? f.fs.unlink(parent: x, name: a)
            _ = try? f.fs.mkdir(parent: x, name: a, mode: 0o755, caller: .root)
            try? f.fs.rmdir(parent: x, name: a)
        }
        stop.store(true, ordering: .relaxed)
        for t in lookers { t.join() }
        let seen = failures.withLock { $0 }
        #expect(seen.isEmpty, "\(seen.count) nodes changed type, first: \(seen.prefix(3))")
    }
}
