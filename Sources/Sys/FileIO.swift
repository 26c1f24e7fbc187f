import CLinux
import Glibc
import LayerAPI

/// Data calls on an open regular file.
extension FD {
    /// pread(2): bytes read, 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let fd = rawValue
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retryingOnEINTR { pread(fd, base, buffer.count, off_t(offset)) }
    }

    /// pwrite(2): bytes written.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let fd = rawValue
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retryingOnEINTR { pwrite(fd, base, buffer.count, off_t(offset)) }
    }

    /// ftruncate(2).
    public func truncate(_ size: Int64) throws(Errno) {
        let fd = rawValue
        try checked { ftruncate(fd, off_t(size)) }
    }

    /// fsync(2), or fdatasync(2) when `dataOnly`.
    public func sync(dataOnly: Bool) throws(Errno) {
        let fd = rawValue
        if dataOnly {
            try checked { fdatasync(fd) }
        } else {
            try checked { fsync(fd) }
        }
    }

    /// fallocate(2) with raw FALLOC_FL_* mode bits.
    public func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {
        let fd = rawValue
        try checked { fallocate(fd, mode, off_t(offset), off_t(length)) }
    }

    /// lseek(2) SEEK_DATA: nil when there is no data at or after `offset` (ENXIO).
    public func nextData(from offset: Int64) throws(Errno) -> Int64? {
        let fd = rawValue
        do throws(Errno) {
            return Int64(try retryingOnEINTR { lseek(fd, off_t(offset), SEEK_DATA) })
        } catch {
            if error == .ENXIO { return nil }
            throw error
        }
    }

    /// lseek(2) SEEK_HOLE: the next hole at or after `offset` (end of file counts as a hole).
    public func nextHole(from offset: Int64) throws(Errno) -> Int64 {
        let fd = rawValue
        return Int64(try retryingOnEINTR { lseek(fd, off_t(offset), SEEK_HOLE) })
    }

    /// copy_file_range(2) from this descriptor at `from` to `destination` at `to`.
    public func copyRange(to destination: FD, from: Int64, to: Int64, length: Int) throws(Errno) -> Int {
        let fd = rawValue
        let out = destination.rawValue
        var inOffset = off_t(from)
        var outOffset = off_t(to)
        return try retryingOnEINTR { copy_file_range(fd, &inOffset, out, &outOffset, length, 0) }
    }

    /// syncfs(2) of the filesystem holding this descriptor.
    public func syncFilesystem() throws(Errno) {
        let fd = rawValue
        try checked { syncfs(fd) }
    }
}
