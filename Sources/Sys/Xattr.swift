import CLinux
import Glibc
import LayerAPI
import Synchronization

/// Whether the kernel has getxattrat(2) (6.13+), which reads an xattr of a name in a directory
/// without the /proc/self/fd path walk; cleared at the first ENOSYS.
enum XattrAt {
    static let available = Atomic<Bool>(true)
}

/// Extended attributes of one object, never following a symlink and never resolving a path
/// outside a held descriptor: the object is `name` in this directory, reached as
/// "/proc/self/fd/<dir>/<name>" with the l*xattr calls (which act on a final symlink itself);
/// with `name` nil the object is this descriptor itself (f*xattr, so it must not be O_PATH).
extension FD {
    public func getXattr(_ name: [UInt8]?, _ attribute: [UInt8]) throws(Errno) -> [UInt8] {
        let fd = rawValue
        return try withCString(attribute) { (a) throws(Errno) -> [UInt8] in
            if let name {
                if XattrAt.available.load(ordering: .relaxed) {
                    do throws(Errno) {
                        return try withCString(name) { (n) throws(Errno) -> [UInt8] in
                            try readSized { clinux_getxattrat(fd, n, a, $0, $1) }
                        }
                    } catch {
                        guard error == .ENOSYS else { throw error }
                        XattrAt.available.store(false, ordering: .relaxed)
                    }
                }
                return try withCString(procFDPath(fd, name)) { (p) throws(Errno) -> [UInt8] in
                    try readSized { lgetxattr(p, a, $0, $1) }
                }
            }
            return try readSized { fgetxattr(fd, a, $0, $1) }
        }
    }

    /// The attribute names, in the kernel's order.
    public func listXattr(_ name: [UInt8]?) throws(Errno) -> [[UInt8]] {
        let fd = rawValue
        let raw: [UInt8]
        if let name {
            raw = try withCString(procFDPath(fd, name)) { (p) throws(Errno) -> [UInt8] in
                try readSized { llistxattr(p, $0?.assumingMemoryBound(to: CChar.self), $1) }
            }
        } else {
            raw = try readSized { flistxattr(fd, $0?.assumingMemoryBound(to: CChar.self), $1) }
        }
        return raw.split(separator: 0, omittingEmptySubsequences: true).map { Array($0) }
    }

    /// setxattr with XATTR_CREATE / XATTR_REPLACE flags.
    public func setXattr(_ name: [UInt8]?, _ attribute: [UInt8], _ value: [UInt8], flags: Int32) throws(Errno) {
        let fd = rawValue
        try withCString(attribute) { (a) throws(Errno) in
            let outcome: Result<Void, Errno> = value.withUnsafeBytes { v in
                do throws(Errno) {
                    if let name {
                        try withCString(procFDPath(fd, name)) { (p) throws(Errno) in
                            try checked { lsetxattr(p, a, v.baseAddress, v.count, flags) }
                        }
                    } else {
                        try checked { fsetxattr(fd, a, v.baseAddress, v.count, flags) }
                    }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            try outcome.get()
        }
    }

    public func removeXattr(_ name: [UInt8]?, _ attribute: [UInt8]) throws(Errno) {
        let fd = rawValue
        try withCString(attribute) { (a) throws(Errno) in
            if let name {
                try withCString(procFDPath(fd, name)) { (p) throws(Errno) in
                    try checked { lremovexattr(p, a) }
                }
            } else {
                try checked { fremovexattr(fd, a) }
            }
        }
    }
}

/// Runs a (buffer, size) -> length call: first into a small stack buffer, then, on ERANGE, asks
/// for the size and retries with a heap buffer until the value fits.
func readSized(_ call: (UnsafeMutableRawPointer?, Int) -> Int) throws(Errno) -> [UInt8] {
    let small = 256
    var failure: Errno? = nil
    let first: [UInt8]? = withUnsafeTemporaryAllocation(byteCount: small, alignment: 1) { buffer in
        do throws(Errno) {
            let n = try retryingOnEINTR { call(buffer.baseAddress, small) }
            return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        } catch {
            if error != .ERANGE { failure = error }
            return nil
        }
    }
    if let failure { throw failure }
    if let first { return first }
    while true {
        let size = try retryingOnEINTR { call(nil, 0) }
        if size == 0 { return [] }
        var value = [UInt8](repeating: 0, count: size)
        do throws(Errno) {
            let outcome: Result<Int, Errno> = value.withUnsafeMutableBytes { b in
                do throws(Errno) {
                    return .success(try retryingOnEINTR { call(b.baseAddress, size) })
                } catch {
                    return .failure(error)
                }
            }
            let n = try outcome.get()
            value.removeSubrange(n...)
            return value
        } catch {
            if error != .ERANGE { throw error }
        }
    }
}
