import LayerAPI
import Sys

/// An open regular file of a POSIX layer: one owned descriptor, positional I/O only, so it is
/// safe to use from several threads. `close()` is idempotent (the descriptor box closes once).
class PosixFile: LayerFile, @unchecked Sendable {
    /// The descriptor; closed by `close()` or, failing that, when the file is released.
    let handle: FileDescriptor

    init(_ fd: FD) { handle = FileDescriptor(fd) }

    var descriptor: Int32? { handle.rawValue }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try handle.fd.read(into: buffer, at: offset)
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try handle.fd.write(buffer, at: offset)
    }

    func stat() throws(Errno) -> FileStat { try handle.fd.stat() }

    func truncate(_ size: Int64) throws(Errno) { try handle.fd.truncate(size) }

    func sync(dataOnly: Bool) throws(Errno) { try handle.fd.sync(dataOnly: dataOnly) }

    func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {
        try handle.fd.allocate(mode: mode, offset: offset, length: length)
    }

    func nextData(from offset: Int64) throws(Errno) -> Int64? { try handle.fd.nextData(from: offset) }

    func nextHole(from offset: Int64) throws(Errno) -> Int64 { try handle.fd.nextHole(from: offset) }

    /// copy_file_range when the destination is a PosixFile too; nil (caller falls back to
    /// read/write) when the kernel cannot copy between these two (EXDEV, EOPNOTSUPP, ...).
    func copy(to destination: any LayerFile, from: Int64, to: Int64, length: Int) throws(Errno) -> Int? {
        guard let target = destination as? PosixFile else { return nil }
        do throws(Errno) {
            return try handle.fd.copyRange(to: try target.handle.fd, from: from, to: to, length: length)
        } catch {
            switch error {
            case .EXDEV, .EOPNOTSUPP, .ENOSYS, .EINVAL: return nil
            default: throw error
            }
        }
    }

    func close() { handle.close() }
}
