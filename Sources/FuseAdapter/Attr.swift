import CFuse
import LayerAPI
import OverlayEngine

/// FileStat -> struct stat, for attribute and entry replies. Conversions never trap.
func cStat(_ s: FileStat) -> stat {
    var st = stat()
    st.st_dev = UInt(truncatingIfNeeded: s.dev)
    st.st_ino = UInt(truncatingIfNeeded: s.ino)
    st.st_mode = s.mode
    st.st_nlink = UInt(truncatingIfNeeded: s.nlink)
    st.st_uid = s.uid
    st.st_gid = s.gid
    st.st_rdev = UInt(truncatingIfNeeded: s.rdev)
    st.st_size = Int(truncatingIfNeeded: s.size)
    st.st_blksize = Int(truncatingIfNeeded: s.blksize)
    st.st_blocks = Int(truncatingIfNeeded: s.blocks)
    st.st_atim = cTimespec(s.atime)
    st.st_mtim = cTimespec(s.mtime)
    st.st_ctim = cTimespec(s.ctime)
    return st
}

func cTimespec(_ t: Timespec) -> timespec {
    timespec(tv_sec: Int(truncatingIfNeeded: t.seconds), tv_nsec: Int(truncatingIfNeeded: t.nanoseconds))
}

func swiftTimespec(_ t: timespec) -> Timespec {
    Timespec(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec))
}

/// The setattr request as engine changes: FUSE_SET_ATTR_* bits select fields of `attr`.
/// `killPriv`: FUSE_HANDLE_KILLPRIV_V2 is agreed, so clearing setuid/setgid is the daemon's
/// job: asked by FATTR_KILL_SUIDGID (libfuse passes it as FUSE_SET_ATTR_KILL_SUID) on a
/// truncate or chown, and by a SETATTR that sets nothing, which is what the kernel sends when a
/// write would clear them (file_remove_privs, also before a passthrough write) — but also when
/// a write by a caller with CAP_FSETID only drops security.capability (the kernel removed it just
/// before), which must keep them: `callerKeepsSetID` tells (asked only for such a SETATTR).
func attrChanges(
    _ attr: stat, toSet: Int32, killPriv: Bool = false, callerKeepsSetID: () -> Bool = { false }
) -> AttrChanges {
    var c = AttrChanges()
    if toSet & FUSE_SET_ATTR_MODE != 0 { c.mode = attr.st_mode & 0o7777 }
    if toSet & FUSE_SET_ATTR_UID != 0 { c.uid = attr.st_uid }
    if toSet & FUSE_SET_ATTR_GID != 0 { c.gid = attr.st_gid }
    if toSet & FUSE_SET_ATTR_SIZE != 0 { c.size = Int64(attr.st_size) }
    if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 {
        c.atime = .now
    } else if toSet & FUSE_SET_ATTR_ATIME != 0 {
        c.atime = .set(swiftTimespec(attr.st_atim))
    }
    if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 {
        c.mtime = .now
    } else if toSet & FUSE_SET_ATTR_MTIME != 0 {
        c.mtime = .set(swiftTimespec(attr.st_mtim))
    }
    if killPriv {
        c.dropSetID = toSet & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID) != 0
            || (c.setsNothing && !callerKeepsSetID())
    }
    return c
}

/// FSStat -> struct statvfs.
func cStatvfs(_ s: FSStat) -> statvfs {
    var v = statvfs()
    v.f_bsize = UInt(truncatingIfNeeded: s.blockSize)
    v.f_frsize = UInt(truncatingIfNeeded: s.fragmentSize)
    v.f_blocks = UInt(truncatingIfNeeded: s.blocks)
    v.f_bfree = UInt(truncatingIfNeeded: s.blocksFree)
    v.f_bavail = UInt(truncatingIfNeeded: s.blocksAvailable)
    v.f_files = UInt(truncatingIfNeeded: s.files)
    v.f_ffree = UInt(truncatingIfNeeded: s.filesFree)
    v.f_favail = UInt(truncatingIfNeeded: s.filesAvailable)
    v.f_namemax = UInt(truncatingIfNeeded: s.nameMax)
    return v
}
