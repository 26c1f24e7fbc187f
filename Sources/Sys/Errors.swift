import CLinux
import Glibc
import LayerAPI

/// The errno of the call that just failed, as a typed value.
@inline(__always)
func lastErrno() -> Errno { Errno(rawValue: clinux_errno()) }

/// Runs a libc call that returns -1 and sets errno on failure, retrying on EINTR.
/// Returns the call's non-negative result or throws the captured errno.
@inline(__always)
func retryingOnEINTR<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        let e = lastErrno()
        if e != .EINTR { throw e }
    }
}

/// Like `retryingOnEINTR` for calls whose result is only success or failure.
@inline(__always)
func checked<T: BinaryInteger>(_ call: () -> T) throws(Errno) {
    _ = try retryingOnEINTR(call)
}

/// strerror(3) text for `errno`, for start-up messages ("No such file or directory").
public func errnoDescription(_ errno: Errno) -> String {
    guard let text = strerror(errno.rawValue) else { return "errno \(errno.rawValue)" }
    return String(cString: text)
}
