// Move to Tests/LayerConformanceTests/PosixFactory.swift and add `.posix` to `LayerFactory.all` once
// PosixLayer is merged (kept outside the target until then: SwiftPM warns about unknown files in it).
import Glibc
import LayerAPI
import PosixLayer

extension LayerFactory {
    /// A PosixUpperLayer on two fresh sibling directories ("upper", "work") of one mkdtemp
    /// directory in /tmp (ext4 here), removed with everything in it afterwards.
    static let posix = LayerFactory(name: "posix") {
        var template = Array("/tmp/layer-conformance.XXXXXX".utf8CString)
        let base: String = try template.withUnsafeMutableBufferPointer { (buf) throws -> String in
            guard let start = buf.baseAddress, mkdtemp(start) != nil else { throw Errno(rawValue: errno) }
            return String(cString: start)
        }
        let root = base + "/upper"
        let work = base + "/work"
        guard Glibc.mkdir(root, 0o755) == 0, Glibc.mkdir(work, 0o700) == 0 else {
            let e = Errno(rawValue: errno)
            removeAll(base)
            throw e
        }
        do {
            let layer = try PosixUpperLayer(root: root, workDir: work)
            return LayerFixture(layer: layer, cleanup: { removeAll(base) })
        } catch {
            removeAll(base)
            throw error
        }
    }
}

/// rm -rf without following symlinks.
private func removeAll(_ path: String) {
    _ = nftw(path, { p, _, _, _ in
        guard let p else { return 0 }
        _ = remove(p)
        return 0
    }, 32, Int32(FTW_DEPTH | FTW_PHYS))
}
