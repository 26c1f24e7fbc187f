import LayerAPI

/// Default ACL inheritance. New objects are built in the work directory (no default ACL there)
/// and renamed into place, so the upper file system cannot apply the parent's default ACL itself;
/// this does what the kernel's posix_acl_create does.
extension OverlayFS {
    /// Gives `work` (a new object about to become a child of `dir`) the access ACL derived from
    /// the default ACL of `dir` in the upper, and the default ACL itself for a directory. Nothing
    /// happens when the parent has no default ACL (or the upper does not support ACLs).
    func inheritDefaultACL(_ upper: any UpperLayer, from dir: RelPath, to work: Place, isDirectory: Bool) throws(Errno) {
        guard upperOverride == nil, let def = try? upper.getXattr(.tree(dir), IDXattrs.aclDefault),
            let access = IDXattrs.aclCreate(def, mode: try upper.stat(work).permissions)
        else { return }
        if isDirectory { try upper.setXattr(work, IDXattrs.aclDefault, def, flags: []) }
        // Setting the access ACL also sets the permission bits from it (and drops an ACL that
        // says no more than the mode).
        try upper.setXattr(work, IDXattrs.aclAccess, access, flags: [])
    }
}

extension IDXattrs {
    /// The access ACL of a new object with permission bits `mode` under a default ACL `def`
    /// (posix_acl_create): the owner, other, and mask (or, without a mask, owning group) entries
    /// are limited by the mode's bits. nil if `def` is not a valid, non-empty ACL.
    static func aclCreate(_ def: [UInt8], mode: UInt32) -> [UInt8]? {
        guard def.count > 4, (def.count - 4) % 8 == 0, readU32(def, 0) == 2 else { return nil }
        let tags = stride(from: 4, to: def.count, by: 8).map { UInt16(def[$0]) | UInt16(def[$0 + 1]) << 8 }
        let hasMask = tags.contains(0x10)
        var out = def
        for (i, tag) in tags.enumerated() {
            let bits: UInt32
            switch tag {
            case 0x01: bits = (mode >> 6) & 7  // ACL_USER_OBJ
            case 0x20: bits = mode & 7  // ACL_OTHER
            case 0x10: bits = (mode >> 3) & 7  // ACL_MASK
            case 0x04 where !hasMask: bits = (mode >> 3) & 7  // ACL_GROUP_OBJ
            default: continue
            }
            let off = 4 + 8 * i + 2
            let perm = (UInt16(out[off]) | UInt16(out[off + 1]) << 8) & UInt16(bits)
            out[off] = UInt8(truncatingIfNeeded: perm)
            out[off + 1] = UInt8(truncatingIfNeeded: perm >> 8)
        }
        return out
    }
}
