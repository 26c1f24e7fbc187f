import LayerAPI

/// One object of the fake filesystem. Reference type so that directory entries, the inode
/// table and open files all see the same object. Never shared outside the layer's mutex:
/// every field is read and written only while `MemoryLayer.state` is locked.
final class Inode {
    let ino: UInt64
    /// S_IFMT type bits plus permission bits.
    var mode: UInt32
    var nlink: UInt64
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var rdev: UInt64 = 0
    var atime: Timespec
    var mtime: Timespec
    var ctime: Timespec
    /// Extended attributes in insertion order (ext4 lists them in storage order too).
    var xattrs: [(name: [UInt8], value: [UInt8])] = []
    /// Contents of a regular file (holes are stored as zeros).
    var data: [UInt8] = []
    /// Target of a symlink.
    var target: [UInt8] = []
    /// Entries of a directory: name -> ino.
    var entries: [Name: UInt64] = [:]
    /// For a directory: the ino of the directory holding it (nil for the tree root and the work
    /// directory). Directories have exactly one parent, so this is well defined.
    var parent: UInt64?
    /// Open `MemoryFile`s on this inode; the inode lives on after its last unlink while > 0.
    var openCount = 0

    init(ino: UInt64, mode: UInt32, nlink: UInt64, now: Timespec) {
        self.ino = ino
        self.mode = mode
        self.nlink = nlink
        self.atime = now
        self.mtime = now
        self.ctime = now
    }

    var type: FileType { FileType(mode: mode) }
    var isDirectory: Bool { type == .directory }

    var size: Int64 {
        switch type {
        case .regular: return Int64(data.count)
        case .directory: return 4096
        case .symlink: return Int64(target.count)
        default: return 0
        }
    }

    /// 512-byte blocks, as ext4 would count them for a non-sparse file.
    var blocks: Int64 {
        switch type {
        case .regular: return (Int64(data.count) + 4095) / 4096 * 8
        case .directory: return 8
        case .symlink: return target.count < 60 ? 0 : 8
        default: return 0
        }
    }

    func stat(dev: UInt64) -> FileStat {
        var st = FileStat()
        st.dev = dev
        st.ino = ino
        st.mode = mode
        st.nlink = nlink
        st.uid = uid
        st.gid = gid
        st.rdev = rdev
        st.size = size
        st.blksize = 4096
        st.blocks = blocks
        st.atime = atime
        st.mtime = mtime
        st.ctime = ctime
        return st
    }

    /// Marks a content change (write, truncate, entry added or removed).
    func touchModified(_ now: Timespec) {
        mtime = now
        ctime = now
    }

    /// relatime: the access time moves only when it is not newer than mtime/ctime or is a day old.
    func touchAccessed(_ now: Timespec) {
        if atime <= mtime || atime <= ctime || now.seconds - atime.seconds >= 24 * 3600 {
            atime = now
        }
    }

    /// What the kernel's file_remove_privs does on write/truncate/chown even for root:
    /// drop `security.capability`.
    func killPriv() {
        xattrs.removeAll { $0.name == XattrRules.capabilityName }
    }
}
