import Glibc
import LayerAPI
import MemoryLayer
import OverlayEngine

/// Engine micro-benchmarks, in process on the in-memory layer: the engine's own cost without the
/// kernel round trip (`shiftoverlay-bench micro [N]`, N files per benchmark, default 10000: lookup,
/// getattr, readdir of the N-entry directory, copy-up, create/unlink churn).
enum Micro {
    static func measure(_ label: String, ops: Int, _ body: () throws -> Void) rethrows {
        let t0 = now()
        try body()
        let dt = now() - t0
        let perOp = dt / Double(ops) * 1e9
        let pad = String(repeating: " ", count: max(0, 34 - label.count))
        print("\(label)\(pad) \(Int(perOp.rounded())) ns/op  (\(Int((dt * 1000).rounded())) ms)")
    }

    static func run(_ n: Int) throws {
        guard n > 0 else { throw BenchError("micro: N must be positive") }
        let lower = MemoryLayer()
        let upper = MemoryLayer()
        guard let dirName = Name("d") else { return }
        let dir = RelPath.root.appending(dirName)
        try lower.mkdir(.tree(dir), mode: 0o755)
        var names: [Name] = []
        for i in 0..<n {
            guard let name = Name("file\(i)") else { continue }
            names.append(name)
            let f = try lower.create(.tree(dir.appending(name)), flags: .readWrite, mode: 0o644)
            let data = [UInt8](repeating: 0x61, count: 4096)
            _ = try data.withUnsafeBytes { (b) throws(Errno) -> Int in try f.write(b, at: 0) }
            f.close()
        }
        let fs = try OverlayFS(lowers: [lower], upper: upper)
        let d = try fs.lookup(parent: 1, name: dirName).node
        print("shiftoverlay-bench: \(n) files, engine on the memory layer")
        try measure("lookup (lower file)", ops: n) {
            for name in names { _ = try fs.lookup(parent: d, name: name) }
        }
        try measure("getattr", ops: n) {
            for name in names { _ = try fs.getattr(try fs.lookup(parent: d, name: name).node) }
        }
        try measure("readdir of the whole directory", ops: 10) {
            for _ in 0..<10 {
                let h = d
                _ = try fs.readdir(node: h, from: 0)
            }
        }
        try measure("copy-up (open for write, 4 KiB)", ops: n) {
            for name in names {
                let node = try fs.lookup(parent: d, name: name).node
                fs.release(try fs.open(node, flags: .readWrite, caller: .root))
            }
        }
        guard let churn = Name("churn") else { return }
        try measure("create + unlink churn", ops: n) {
            for _ in 0..<n {
                let (_, h) = try fs.create(parent: d, name: churn, mode: 0o644, flags: .writeOnly, caller: .root)
                fs.release(h)
                try fs.unlink(parent: d, name: churn)
            }
        }
    }
}
