import LayerAPI

/// The stat-override xattr of rootless container storage: `uid:gid:mode[:type]` (decimal ids,
/// octal mode that may include the type bits). It stands in for owner and permissions that could
/// not be stored for real. A layer uses it when its root directory carries one (the marker).
struct OverrideStat: Hashable, Sendable {
    var uid: UInt32
    var gid: UInt32
    /// Permission bits (07777).
    var permissions: UInt32
    /// Whatever followed the mode (the type word), kept verbatim.
    var rest: [UInt8]

    /// The names, in the order a layer's root is probed for its marker.
    static let names: [[UInt8]] = [
        Array("user.containers.override_stat".utf8),
        Array("user.fuseoverlayfs.override_stat".utf8),
        Array("security.fuseoverlayfs.override_stat".utf8),
    ]

    /// The name the upper layer writes for xattr_permissions=1 / =2.
    static func name(forXattrPermissions mode: Int) -> [UInt8]? {
        switch mode {
        case 1: return Array("security.fuseoverlayfs.override_stat".utf8)
        case 2: return Array("user.fuseoverlayfs.override_stat".utf8)
        default: return nil
        }
    }

    init(uid: UInt32, gid: UInt32, permissions: UInt32, rest: [UInt8] = []) {
        self.uid = uid
        self.gid = gid
        self.permissions = permissions & ModeBits.permissionMask
        self.rest = rest
    }

    init(_ st: FileStat) { self.init(uid: st.uid, gid: st.gid, permissions: st.permissions) }

    init?(parsing value: [UInt8]) {
        let fields = value.split(separator: 0x3A, maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3,
            let uid = UInt32(String(decoding: fields[0], as: UTF8.self)),
            let gid = UInt32(String(decoding: fields[1], as: UTF8.self)),
            let mode = UInt32(String(decoding: fields[2], as: UTF8.self), radix: 8)
        else { return nil }
        self.init(uid: uid, gid: gid, permissions: mode, rest: fields.count > 3 ? Array(fields[3]) : [])
    }

    var bytes: [UInt8] {
        var s = "\(uid):\(gid):0\(String(permissions, radix: 8))"
        if !rest.isEmpty { s += ":" + String(decoding: rest, as: UTF8.self) }
        return Array(s.utf8)
    }

    /// `st` with this override's owner and permission bits.
    func applied(to st: FileStat) -> FileStat {
        var out = st
        out.uid = uid
        out.gid = gid
        out.mode = (st.mode & ~ModeBits.permissionMask) | permissions
        return out
    }

    /// The override name a layer uses (its root carries one), nil for a plain layer.
    static func marker(of layer: any Layer) -> [UInt8]? {
        for name in names where (try? layer.getXattr(.root, name)) != nil { return name }
        return nil
    }
}
