import LayerAPI

/// xattrs whose values carry uids/gids: POSIX ACLs (ACL_USER/ACL_GROUP entries) and file
/// capabilities (the v3 root id). Stored values hold storage ids; the mount shows visible ids.
public enum IDXattrs {
    static let aclAccess = Array("system.posix_acl_access".utf8)
    static let aclDefault = Array("system.posix_acl_default".utf8)
    static let capability = Array("security.capability".utf8)

    static let capRevisionMask: UInt32 = 0xFF00_0000
    static let capRevision2: UInt32 = 0x0200_0000
    static let capRevision3: UInt32 = 0x0300_0000

    /// Stored value -> what the mount shows.
    public static func toVisible(_ name: [UInt8], _ value: [UInt8], uid: IDMap, gid: IDMap) -> [UInt8] {
        if uid.isIdentity && gid.isIdentity { return value }
        if name == aclAccess || name == aclDefault {
            return mapACL(value) { tag, id in tag == PosixACL.user ? uid.toVisible(id) : gid.toVisible(id) } ?? value
        }
        if name == capability {
            // A v2 capability belongs to the storage root (id 0); show it as v3 owned by the
            // visible root, so it takes effect inside a user namespace whose root that is.
            guard var cap = Capability(value) else { return value }
            cap.rootID = uid.toVisible(cap.rootID ?? 0)
            return cap.bytes
        }
        return value
    }

    /// A value written through the mount -> what is stored (ids outside the map are stored as
    /// the overflow id, like owners).
    public static func toStorage(_ name: [UInt8], _ value: [UInt8], uid: IDMap, gid: IDMap) -> [UInt8] {
        if uid.isIdentity && gid.isIdentity { return value }
        if name == aclAccess || name == aclDefault {
            return mapACL(value) { tag, id in
                tag == PosixACL.user ? (uid.toStorage(id) ?? uid.overflowID) : (gid.toStorage(id) ?? gid.overflowID)
            } ?? value
        }
        if name == capability {
            guard var cap = Capability(value), let visibleRoot = cap.rootID else { return value }
            let stored = uid.toStorage(visibleRoot) ?? uid.overflowID
            // Owned by the storage root: store the plain v2 form an image would carry.
            cap.rootID = stored == 0 ? nil : stored
            return cap.bytes
        }
        return value
    }

    /// Rewrites the ids of ACL_USER / ACL_GROUP entries; nil if `value` is not a valid ACL.
    static func mapACL(_ value: [UInt8], _ map: (UInt16, UInt32) -> UInt32) -> [UInt8]? {
        guard var acl = PosixACL(value) else { return nil }
        for i in acl.entries.indices where acl.entries[i].tag == PosixACL.user || acl.entries[i].tag == PosixACL.group {
            acl.entries[i].id = map(acl.entries[i].tag, acl.entries[i].id)
        }
        return acl.bytes
    }

    /// struct vfs_cap_data / vfs_ns_cap_data: magic, two (permitted, inheritable) pairs, and in
    /// revision 3 the root id.
    struct Capability {
        var magic: UInt32
        var data: [UInt8]  // the 16 bytes of the two pairs
        var rootID: UInt32?

        init?(_ v: [UInt8]) {
            guard v.count == 20 || v.count == 24 else { return nil }
            magic = readU32(v, 0)
            data = Array(v[4..<20])
            switch magic & capRevisionMask {
            case capRevision2 where v.count == 20: rootID = nil
            case capRevision3 where v.count == 24: rootID = readU32(v, 20)
            default: return nil
            }
        }

        var bytes: [UInt8] {
            var out = [UInt8](repeating: 0, count: rootID == nil ? 20 : 24)
            let flags = magic & ~capRevisionMask
            writeU32(&out, 0, (rootID == nil ? capRevision2 : capRevision3) | flags)
            out.replaceSubrange(4..<20, with: data)
            if let r = rootID { writeU32(&out, 20, r) }
            return out
        }
    }

    static func readU32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    static func writeU32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) {
        for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
}
