import LayerAPI

/// The Linux rules for extended attribute names and values on ext4 as root.
enum XattrRules {
    static let capabilityName = Array("security.capability".utf8)
    static let user = Array("user.".utf8)
    static let trusted = Array("trusted.".utf8)
    static let security = Array("security.".utf8)
    static let maxValue = 65536

    enum Namespace { case user, trusted, security }

    /// ERANGE for an empty or over-long name, EOPNOTSUPP for a namespace ext4 has no handler
    /// for here (including `system.`, whose POSIX ACLs are not modelled), EINVAL for a bare prefix.
    static func namespace(of name: [UInt8]) throws(Errno) -> Namespace {
        guard !name.isEmpty, name.count <= 255 else { throw .ERANGE }
        for (prefix, ns) in [(user, Namespace.user), (trusted, .trusted), (security, .security)] {
            if name.count >= prefix.count && name[0..<prefix.count].elementsEqual(prefix) {
                if name.count == prefix.count { throw .EINVAL }
                return ns
            }
        }
        throw .EOPNOTSUPP
    }

    /// `user.` attributes exist only on regular files and directories: reading one elsewhere
    /// gives ENODATA, changing one EPERM.
    static func userAllowed(on inode: Inode) -> Bool {
        inode.type == .regular || inode.type == .directory
    }

    /// The kernel accepts only well-formed file capabilities (revision 2: 20 bytes; revision 3:
    /// 24 bytes), else EINVAL.
    static func validate(name: [UInt8], value: [UInt8]) throws(Errno) {
        guard value.count <= maxValue else { throw .E2BIG }
        guard name == capabilityName else { return }
        guard value.count >= 4 else { throw .EINVAL }
        let revision = value[3]
        if (revision == 2 && value.count == 20) || (revision == 3 && value.count == 24) { return }
        throw .EINVAL
    }
}
