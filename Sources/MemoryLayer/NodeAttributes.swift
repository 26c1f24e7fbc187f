import LayerAPI

/// Attribute changes of one inode, shared by the calls by place and those on an unnamed file.
extension Tree {
    func chmod(_ node: Inode, mode: UInt32) throws(Errno) {
        guard node.type != .symlink else { throw .EOPNOTSUPP }
        node.mode = (node.mode & FileType.formatMask) | (mode & ModeBits.permissionMask)
        node.ctime = now()
    }

    func chown(_ node: Inode, uid: UInt32?, gid: UInt32?) {
        // Like the POSIX layer: with neither id given nothing is called, so nothing
        // changes (a real lchown(-1, -1) would still clear setuid and touch ctime).
        if uid == nil && gid == nil { return }
        if let uid { node.uid = uid }
        if let gid { node.gid = gid }
        if !node.isDirectory {
            // chown_common: ATTR_KILL_SUID always, ATTR_KILL_SGID when group-executable,
            // ATTR_KILL_PRIV (security.capability) — for root too.
            node.mode &= ~ModeBits.setUID
            if node.mode & 0o010 != 0 { node.mode &= ~ModeBits.setGID }
            node.killPriv()
        }
        node.ctime = now()
    }

    func setTimes(_ node: Inode, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        if access == .omit && modification == .omit { return }
        for t in [access, modification] {
            if case .set(let ts) = t, ts.nanoseconds < 0 || ts.nanoseconds >= 1_000_000_000 {
                throw .EINVAL
            }
        }
        let now = now()
        switch access {
        case .omit: break
        case .now: node.atime = now
        case .set(let ts): node.atime = ts
        }
        switch modification {
        case .omit: break
        case .now: node.mtime = now
        case .set(let ts): node.mtime = ts
        }
        node.ctime = now
    }

    /// `node` finds the inode once the arguments are checked (the POSIX layer's error order).
    func setXattr(
        _ name: [UInt8], _ value: [UInt8], flags: XattrFlags, node find: () throws(Errno) -> Inode
    ) throws(Errno) {
        guard flags.rawValue & ~(XattrFlags.create.rawValue | XattrFlags.replace.rawValue) == 0 else {
            throw .EINVAL
        }
        guard !name.isEmpty, name.count <= 255 else { throw .ERANGE }
        guard value.count <= XattrRules.maxValue else { throw .E2BIG }
        let node = try find()
        let ns = try XattrRules.namespace(of: name)
        if ns == .user && !XattrRules.userAllowed(on: node) { throw .EPERM }
        try XattrRules.validate(name: name, value: value)
        if let i = node.xattrs.firstIndex(where: { $0.name == name }) {
            if flags.contains(.create) { throw .EEXIST }
            node.xattrs[i].value = value
        } else {
            if flags.contains(.replace) { throw .ENODATA }
            node.xattrs.append((name: name, value: value))
        }
        node.ctime = now()
    }
}
