import CLinux
import Glibc
import LayerAPI

/// The FUSE device (/dev/fuse) calls of the adapter's custom I/O: the read, writev and splice
/// libfuse would make itself (raw results: -1 with errno set, as libfuse expects), and the
/// passthrough ioctls that register a layer file as the backing file of FUSE opens.
public enum FuseDevice {
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        Glibc.read(fd, buffer, count)
    }

    public static func writev(_ fd: Int32, _ iov: UnsafePointer<iovec>?, _ count: Int32) -> Int {
        Glibc.writev(fd, iov, count)
    }

    public static func splice(
        _ fdIn: Int32, _ offIn: UnsafeMutablePointer<Int>?, _ fdOut: Int32, _ offOut: UnsafeMutablePointer<Int>?,
        _ length: Int, _ flags: UInt32
    ) -> Int {
        clinux_splice(fdIn, offIn, fdOut, offOut, UInt(length), flags)
    }

    /// FUSE_DEV_IOC_BACKING_OPEN: the backing id for open replies (needs CAP_SYS_ADMIN).
    public static func openBacking(device: Int32, file: Int32) throws(Errno) -> Int32 {
        let id = clinux_fuse_backing_open(device, file)
        guard id >= 0 else { throw Errno(rawValue: clinux_errno()) }
        return id
    }

    /// FUSE_DEV_IOC_BACKING_CLOSE. Open FUSE files keep their backing file alive.
    public static func closeBacking(device: Int32, id: Int32) throws(Errno) {
        guard clinux_fuse_backing_close(device, id) == 0 else { throw Errno(rawValue: clinux_errno()) }
    }
}
