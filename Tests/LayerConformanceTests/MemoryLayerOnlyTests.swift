import LayerAPI
import MemoryLayer
import Synchronization
import Testing

/// What only the fake has: fault injection, capacity, an injectable clock.
@Suite("memory layer extras")
struct MemoryLayerOnlyTests {
    @Test func faultFiresOnceOnTheRightCall() throws {
        let layer = MemoryLayer()
        try layer.mkdir(at("d"), mode: 0o755)
        layer.injectFault(.EIO, on: .stat, after: 2)
        _ = try layer.stat(at("d"))
        _ = try layer.stat(RelPath([name("d")]))
        #expect(throws: Errno.EIO) { try layer.stat(at("d")) }
        _ = try layer.stat(at("d"))
        layer.injectFault(.ENOSPC, on: .mkdir)
        #expect(throws: Errno.ENOSPC) { try layer.mkdir(at("e"), mode: 0o755) }
        #expect(throws: Errno.ENOENT) { try layer.stat(at("e")) }
        try layer.mkdir(at("e"), mode: 0o755)
    }

    @Test func fileOperationsCanFailAndFaultsCanBeCleared() throws {
        let layer = MemoryLayer()
        let f = try layer.create(at("f"), flags: .readWrite, mode: 0o644)
        defer { f.close() }
        layer.injectFault(.EIO, on: .fileWrite)
        #expect(throws: Errno.EIO) { try write(f, bytes("x"), at: 0) }
        #expect(try write(f, bytes("x"), at: 0) == 1)
        layer.injectFault(.EIO, on: .fileRead)
        layer.injectFault(.EIO, on: .rename, after: 5)
        layer.clearFaults()
        #expect(try read(f, count: 1, at: 0) == bytes("x"))
    }

    @Test func capacityLimitsWrites() throws {
        let layer = MemoryLayer(capacityBytes: 8192)
        let f = try layer.create(at("f"), flags: .readWrite, mode: 0o644)
        defer { f.close() }
        #expect(try write(f, [UInt8](repeating: 1, count: 8000), at: 0) == 8000)
        #expect(throws: Errno.ENOSPC) { try write(f, [UInt8](repeating: 1, count: 500), at: 8000) }
        #expect(try layer.statfs().blocks == 2)
        #expect(layer.usedBytes == 8000)
        try f.truncate(0)
        #expect(layer.usedBytes == 0)
        layer.capacityBytes = 1 << 20
        #expect(try write(f, [UInt8](repeating: 1, count: 9000), at: 0) == 9000)
    }

    @Test func unlinkedOpenFileIsFreedOnClose() throws {
        let layer = MemoryLayer()
        let f = try layer.create(at("f"), flags: .readWrite, mode: 0o644)
        try write(f, bytes("abcd"), at: 0)
        try layer.unlink(at("f"))
        #expect(layer.usedBytes == 4)
        f.close()
        #expect(layer.usedBytes == 0)
    }

    @Test func injectedClockStampsTimes() throws {
        let ticks = Atomic<Int64>(100)
        let layer = MemoryLayer(clock: { Timespec(seconds: ticks.add(1, ordering: .relaxed).newValue, nanoseconds: 7) })
        try makeFile(layer, at("f"))
        let st = try layer.stat(at("f"))
        #expect(st.mtime.nanoseconds == 7)
        #expect(st.mtime.seconds > 100 && st.mtime.seconds < 110)
        #expect(st.atime == st.mtime && st.ctime == st.mtime)
    }

    @Test func devicesDifferAndDumpDescribesTheTree() throws {
        let a = MemoryLayer()
        let b = MemoryLayer()
        #expect(try a.stat(at("")).dev != b.stat(at("")).dev)
        #expect(MemoryLayer(dev: 42).dev == 42)
        try a.mkdir(at("d"), mode: 0o750)
        try a.symlink(at("d/s"), target: bytes("t"))
        try makeFile(a, work("w"), "xyz")
        let dump = a.dump()
        #expect(dump["d"] == "directory 750 0:0 n2")
        #expect(dump["d/s"] == "symlink 777 0:0 n1 -> t")
        #expect(dump["#work/w"] == "regular 644 0:0 n1 size=3")
        #expect(dump.count == 4)
    }
}
