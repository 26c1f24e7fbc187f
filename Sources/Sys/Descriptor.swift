import Glibc
import LayerAPI
import Synchronization

/// Owns one descriptor and closes it exactly once, from `close()` or deinit, whichever comes
/// first; safe to share between threads. After close, `fd` throws EBADF.
public final class FileDescriptor: Sendable {
    /// -1 once closed. Atomic so that concurrent `close()` calls close the number only once.
    private let value: Atomic<Int32>

    public init(_ fd: FD) { value = Atomic(fd.rawValue) }

    /// The open descriptor, or EBADF after close.
    public var fd: FD {
        get throws(Errno) {
            let v = value.load(ordering: .acquiring)
            if v < 0 { throw .EBADF }
            return FD(rawValue: v)
        }
    }

    /// The raw number while open, nil after close.
    public var rawValue: Int32? {
        let v = value.load(ordering: .acquiring)
        return v < 0 ? nil : v
    }

    /// Closes the descriptor; later calls do nothing.
    public func close() {
        let old = value.exchange(-1, ordering: .acquiringAndReleasing)
        if old >= 0 { _ = Glibc.close(old) }
    }

    deinit { close() }
}
