import Glibc

/// A POSIX semaphore on the heap (never moved, never freed: it lives as long as the process).
public final class Semaphore: @unchecked Sendable {
    private let sem: UnsafeMutablePointer<sem_t>

    public init() {
        sem = .allocate(capacity: 1)
        sem_init(sem, 0, 0)
    }

    public func post() { sem_post(sem) }

    public func wait() {
        while sem_wait(sem) != 0 && errno == EINTR {}
    }
}
