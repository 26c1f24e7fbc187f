import CLinux
import Glibc
import LayerAPI

extension FileStat {
    /// Converts a kernel `struct stat`, keeping nanosecond timestamps.
    init(_ s: stat) {
        self.init()
        dev = UInt64(s.st_dev)
        ino = UInt64(s.st_ino)
        mode = s.st_mode
        nlink = UInt64(s.st_nlink)
        uid = s.st_uid
        gid = s.st_gid
        rdev = UInt64(s.st_rdev)
        size = Int64(s.st_size)
        blksize = Int64(s.st_blksize)
        blocks = Int64(s.st_blocks)
        atime = Timespec(seconds: Int64(s.st_atim.tv_sec), nanoseconds: Int64(s.st_atim.tv_nsec))
        mtime = Timespec(seconds: Int64(s.st_mtim.tv_sec), nanoseconds: Int64(s.st_mtim.tv_nsec))
        ctime = Timespec(seconds: Int64(s.st_ctim.tv_sec), nanoseconds: Int64(s.st_ctim.tv_nsec))
    }
}

extension FSStat {
    init(_ s: statvfs) {
        self.init()
        blockSize = UInt64(s.f_bsize)
        fragmentSize = UInt64(s.f_frsize)
        blocks = UInt64(s.f_blocks)
        blocksFree = UInt64(s.f_bfree)
        blocksAvailable = UInt64(s.f_bavail)
        files = UInt64(s.f_files)
        filesFree = UInt64(s.f_ffree)
        filesAvailable = UInt64(s.f_favail)
        nameMax = UInt64(s.f_namemax)
    }
}

extension FD {
    /// fstat(2) of this descriptor (works on O_PATH descriptors too).
    public func stat() throws(Errno) -> FileStat {
        var s = Glibc.stat()
        let fd = rawValue
        try checked { fstat(fd, &s) }
        return FileStat(s)
    }

    /// fstatat(2) of `name` in this directory; pass `SysFlags.atSymlinkNoFollow` for lstat.
    public func statAt(_ name: [UInt8], flags: Int32) throws(Errno) -> FileStat {
        var s = Glibc.stat()
        let fd = rawValue
        try withCString(name) { (p) throws(Errno) in
            try checked { fstatat(fd, p, &s, flags) }
        }
        return FileStat(s)
    }

    /// fstatvfs(2) of the filesystem holding this descriptor.
    public func statfs() throws(Errno) -> FSStat {
        var s = Glibc.statvfs()
        let fd = rawValue
        try checked { fstatvfs(fd, &s) }
        return FSStat(s)
    }
}
