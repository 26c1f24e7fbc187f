import LayerAPI

/// POSIX ACL inheritance for new objects (the kernel's posix_acl_create). A new object is built
/// in the work directory, where the filesystem cannot give it its real parent's default ACL, so
/// the engine applies that ACL itself, as kernel overlayfs does; the caller's umask (the kernel
/// leaves it to us once ACLs are negotiated) applies only where the parent has no default ACL.
extension OverlayFS {
    /// Gives the new object at `work` (not a symlink) the mode and ACLs it would have had if
    /// created directly in the upper directory `parentDir` with `umask`.
    func applyCreationMode(
        _ upper: any UpperLayer, _ work: Place, parentDir: RelPath, isDirectory: Bool, umask: UInt32
    ) throws(Errno) {
        var inherited: [UInt8]?
        do { inherited = try upper.getXattr(.tree(parentDir), IDXattrs.aclDefault) } catch {
            guard error == .ENODATA || error == .EOPNOTSUPP else { throw error }
        }
        let mode = try upper.stat(work).mode & ModeBits.permissionMask
        guard let inherited, var acl = PosixACL(inherited) else {
            let masked = mode & ~(umask & 0o777)
            if masked != mode { try upper.chmod(work, mode: masked) }
            return
        }
        if isDirectory { try upper.setXattr(work, IDXattrs.aclDefault, inherited, flags: []) }
        let (newMode, equivalent) = acl.maskForCreate(mode)
        if newMode != mode { try upper.chmod(work, mode: newMode) }
        if !equivalent { try upper.setXattr(work, IDXattrs.aclAccess, acl.bytes, flags: []) }
    }
}

/// A POSIX ACL in its xattr form: version 2, then (tag, perm, id) little-endian entries.
struct PosixACL {
    struct Entry {
        var tag: UInt16
        var perm: UInt16
        var id: UInt32
    }
    static let userObj: UInt16 = 0x01
    static let user: UInt16 = 0x02
    static let groupObj: UInt16 = 0x04
    static let group: UInt16 = 0x08
    static let mask: UInt16 = 0x10
    static let other: UInt16 = 0x20

    var entries: [Entry]

    /// nil for anything but a well-formed, non-empty version-2 ACL.
    init?(_ bytes: [UInt8]) {
        guard bytes.count > 4, (bytes.count - 4) % 8 == 0, bytes[0] == 2, bytes[1] == 0, bytes[2] == 0, bytes[3] == 0
        else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        entries = stride(from: 4, to: bytes.count, by: 8).map { Entry(tag: u16($0), perm: u16($0 + 2), id: u32($0 + 4)) }
    }

    var bytes: [UInt8] {
        var out: [UInt8] = [2, 0, 0, 0]
        for e in entries {
            out += [UInt8(e.tag & 0xFF), UInt8(e.tag >> 8), UInt8(e.perm & 0xFF), UInt8(e.perm >> 8)]
            out += [UInt8(e.id & 0xFF), UInt8((e.id >> 8) & 0xFF), UInt8((e.id >> 16) & 0xFF), UInt8(e.id >> 24)]
        }
        return out
    }

    /// posix_acl_create_masq: restricts the ACL by the requested `mode` and the mode by the ACL.
    /// Returns the resulting mode (non-permission bits kept) and whether the ACL says no more
    /// than the mode bits (then no access ACL is stored).
    mutating func maskForCreate(_ requested: UInt32) -> (mode: UInt32, equivalent: Bool) {
        var mode = requested & 0o777
        var equivalent = true
        var groupIndex: Int?
        var maskIndex: Int?
        for i in entries.indices {
            switch entries[i].tag {
            case Self.userObj:
                entries[i].perm &= UInt16((mode >> 6) & 7)
                mode &= UInt32(entries[i].perm) << 6 | ~0o700
            case Self.user, Self.group:
                equivalent = false
            case Self.groupObj:
                groupIndex = i
            case Self.other:
                entries[i].perm &= UInt16(mode & 7)
                mode &= UInt32(entries[i].perm) | ~0o007
            case Self.mask:
                maskIndex = i
                equivalent = false
            default:
                break
            }
        }
        if let i = maskIndex ?? groupIndex {
            entries[i].perm &= UInt16((mode >> 3) & 7)
            mode &= UInt32(entries[i].perm) << 3 | ~0o070
        }
        return ((requested & ~0o777) | (mode & 0o777), equivalent)
    }
}
