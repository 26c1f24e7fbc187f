import LayerAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The default clock of a `MemoryLayer`: the real time, CLOCK_REALTIME (what ext4 stamps
/// inodes with). This is the only use of the C library in this module.
@Sendable func realTimeNow() -> Timespec {
    var ts = timespec()
    _ = clock_gettime(CLOCK_REALTIME, &ts)
    return Timespec(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
}
