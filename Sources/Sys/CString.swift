import LayerAPI

/// Calls `body` with a NUL-terminated copy of `bytes`, on the stack when short.
/// EINVAL when `bytes` contains a NUL (the kernel would see a shorter name).
@inline(__always)
func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws(Errno) -> R) throws(Errno) -> R {
    let count = bytes.count
    let result: Result<R, Errno> = withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
        var hasNUL = false
        bytes.withUnsafeBufferPointer { source in
            for i in 0..<count {
                let b = source[i]
                if b == 0 { hasNUL = true }
                buffer[i] = CChar(bitPattern: b)
            }
        }
        if hasNUL { return .failure(.EINVAL) }
        buffer[count] = 0
        guard let base = buffer.baseAddress else { return .failure(.EINVAL) }
        do throws(Errno) {
            return .success(try body(UnsafePointer(base)))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// Two C strings at once (rename, link, symlink).
@inline(__always)
func withCStrings<R>(
    _ a: [UInt8], _ b: [UInt8], _ body: (UnsafePointer<CChar>, UnsafePointer<CChar>) throws(Errno) -> R
) throws(Errno) -> R {
    try withCString(a) { (pa) throws(Errno) -> R in
        try withCString(b) { (pb) throws(Errno) -> R in try body(pa, pb) }
    }
}

/// The decimal digits of a non-negative descriptor, appended to `out`.
func appendDecimal(_ value: Int32, to out: inout [UInt8]) {
    if value == 0 {
        out.append(0x30)
        return
    }
    var digits: [UInt8] = []
    var v = value.magnitude
    while v > 0 {
        digits.append(UInt8(truncatingIfNeeded: 0x30 + v % 10))
        v /= 10
    }
    out.append(contentsOf: digits.reversed())
}

/// "/proc/self/fd/<fd>" plus, when given, "/<name>": a path that reaches the object through a
/// descriptor already held, so no other path component is resolved.
func procFDPath(_ fd: Int32, _ name: [UInt8]?) -> [UInt8] {
    var out: [UInt8] = Array("/proc/self/fd/".utf8)
    out.reserveCapacity(24 + (name?.count ?? 0))
    appendDecimal(fd, to: &out)
    if let name {
        out.append(0x2F)
        out.append(contentsOf: name)
    }
    return out
}
