import CFuse
import LayerAPI
import OverlayEngine

/// The libfuse low-level operations table. Each entry decodes its request, calls the one engine
/// method named after it and replies through `serve`. flock/getlk/setlk stay unset, so the
/// kernel handles locks locally.
func makeOperations() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    installSessionOps(&ops)
    installNodeOps(&ops)
    installNamespaceOps(&ops)
    installFileOps(&ops)
    installDirectoryOps(&ops)
    installXattrOps(&ops)
    return ops
}

/// init / destroy: negotiate capabilities.
private func installSessionOps(_ ops: inout fuse_lowlevel_ops) {
    ops.`init` = { userdata, conn in
        guard let conn else { return }
        let splice = UInt32(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE)
        if conn.pointee.capable & splice == splice { conn.pointee.want |= splice }
        // Not FUSE_HANDLE_KILLPRIV (v1): the daemon writes with CAP_FSETID, so a write of its
        // own would keep setuid/setgid. DeviceIO agrees FUSE_HANDLE_KILLPRIV_V2 instead, under
        // which the kernel still tells the daemon when to clear them (see attrChanges).
        conn.pointee.want &= ~UInt32(FUSE_CAP_HANDLE_KILLPRIV)
        // POSIX ACLs (system.posix_acl_* xattrs, served by the layers) are checked by the kernel
        // along with the mode bits, and cached per inode (ls -l would otherwise ask twice per
        // file); without this, default_permissions checks mode bits only, so a named-user entry
        // would neither grant nor refuse anything. With ACLs the umask is applied by the engine
        // (only where no default ACL is inherited). The noacl option turns both off.
        let context = userdata.map { Unmanaged<AdapterContext>.fromOpaque($0).takeUnretainedValue() }
        let acl = UInt32(FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK)
        if context?.posixACL ?? true, conn.pointee.capable & acl == acl { conn.pointee.want |= acl }
        let writeback = UInt32(FUSE_CAP_WRITEBACK_CACHE)
        if context?.writeback ?? false, conn.pointee.capable & writeback != 0 {
            conn.pointee.want |= writeback
        } else {
            conn.pointee.want &= ~writeback
        }
        if let context, context.maxRead > 0 { conn.pointee.max_read = UInt32(context.maxRead) }
        // Symlink targets stay in the kernel's page cache (ls -l, tar and path walks need no
        // READLINK each time): a link's target never changes, and a new link is a new inode.
        let symlinks = UInt32(FUSE_CAP_CACHE_SYMLINKS)
        if conn.pointee.capable & symlinks != 0 { conn.pointee.want |= symlinks }
        // Locks are handled by the kernel locally.
        conn.pointee.want &= ~UInt32(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS)
    }
    ops.destroy = { _ in }
}

/// lookup, forget, getattr, setattr, readlink, statfs.
private func installNodeOps(_ ops: inout fuse_lowlevel_ops) {
    ops.lookup = { req, parent, cname in
        serve(req) { _, c throws(Errno) in
            let n = try name(cname)
            do throws(Errno) {
                return .entry(try c.engine.lookup(parent: parent, name: n))
            } catch {
                if error == .ENOENT { return .negativeEntry }
                throw error
            }
        }
    }
    ops.forget = { req, ino, nlookup in
        serve(req) { _, c in
            c.engine.forget(ino, lookups: nlookup)
            if c.engine.takeCompacted() { malloc_trim(0) }
            return .none
        }
    }
    ops.forget_multi = { req, count, forgets in
        serve(req) { _, c in
            if let forgets {
                for i in 0..<count {
                    c.engine.forget(forgets[i].ino, lookups: forgets[i].nlookup)
                }
            }
            // The kernel forgot most nodes: give the freed memory back to the system.
            if c.engine.takeCompacted() { malloc_trim(0) }
            return .none
        }
    }
    ops.getattr = { req, ino, _ in
        serve(req) { _, c throws(Errno) in .attr(try c.engine.getattr(ino)) }
    }
    ops.setattr = { req, ino, attr, toSet, fi in
        serve(req) { req, c throws(Errno) in
            guard let attr else { throw .EINVAL }
            let changes = attrChanges(
                attr.pointee, toSet: toSet, killPriv: c.killPrivNegotiated.load(ordering: .acquiring),
                callerKeepsSetID: { callerHasFSETID(req) })
            let handle: HandleID? = fi.map { $0.pointee.fh }
            return .attr(try c.engine.setattr(ino, changes, handle: handle, caller: caller(req)))
        }
    }
    ops.readlink = { req, ino in
        serve(req) { _, c throws(Errno) in .readlink(try c.engine.readlink(ino)) }
    }
    ops.statfs = { req, _ in
        serve(req) { _, c throws(Errno) in .statfs(try c.engine.statfs()) }
    }
}

/// mknod, mkdir, unlink, rmdir, symlink, rename, link.
private func installNamespaceOps(_ ops: inout fuse_lowlevel_ops) {
    ops.mknod = { req, parent, cname, mode, rdev in
        serve(req) { req, c throws(Errno) in
            .entry(
                try c.engine.mknod(
                    parent: parent, name: try name(cname), mode: mode, rdev: UInt64(rdev), caller: caller(req)))
        }
    }
    ops.mkdir = { req, parent, cname, mode in
        serve(req) { req, c throws(Errno) in
            .entry(try c.engine.mkdir(parent: parent, name: try name(cname), mode: mode, caller: caller(req)))
        }
    }
    ops.unlink = { req, parent, cname in
        serve(req) { _, c throws(Errno) in
            try c.engine.unlink(parent: parent, name: try name(cname))
            return .ok
        }
    }
    ops.rmdir = { req, parent, cname in
        serve(req) { _, c throws(Errno) in
            try c.engine.rmdir(parent: parent, name: try name(cname))
            return .ok
        }
    }
    ops.symlink = { req, link, parent, cname in
        serve(req) { req, c throws(Errno) in
            guard let link else { throw .EINVAL }
            return .entry(
                try c.engine.symlink(parent: parent, name: try name(cname), target: cBytes(link), caller: caller(req)))
        }
    }
    ops.rename = { req, parent, cname, newParent, newName, flags in
        serve(req) { _, c throws(Errno) in
            let allowed = RenameFlags([.noReplace, .exchange])
            let f = RenameFlags(rawValue: flags)
            guard allowed.isSuperset(of: f), f != allowed else { throw .EINVAL }
            try c.engine.rename(
                parent: parent, name: try name(cname), newParent: newParent, newName: try name(newName), flags: f)
            return .ok
        }
    }
    ops.link = { req, ino, newParent, newName in
        serve(req) { req, c throws(Errno) in
            .entry(try c.engine.link(ino, newParent: newParent, newName: try name(newName), caller: caller(req)))
        }
    }
}
