import CFuse
import LayerAPI
import OverlayEngine

/// setxattr, getxattr, listxattr, removexattr.
func installXattrOps(_ ops: inout fuse_lowlevel_ops) {
    ops.setxattr = { req, ino, cname, value, size, flags in
        serve(req) { req, c throws(Errno) in
            guard let cname else { throw .EINVAL }
            var bytes: [UInt8] = []
            if let value, size > 0 {
                bytes = Array(UnsafeRawBufferPointer(start: value, count: size))
            }
            try c.engine.setxattr(
                ino, name: cBytes(cname), value: bytes, flags: XattrFlags(rawValue: flags), caller: caller(req))
            return .ok
        }
    }
    ops.getxattr = { req, ino, cname, size in
        serve(req) { _, c throws(Errno) in
            c.getxattrRequests.add(1, ordering: .relaxed)
            guard let cname else { throw .EINVAL }
            let name = cBytes(cname)
            do throws(Errno) {
                return try sized(try c.engine.getxattr(ino, name: name), size)
            } catch {
                throw error == .ENODATA && name == selinuxLabel ? .EOPNOTSUPP : error
            }
        }
    }
    ops.listxattr = { req, ino, size in
        serve(req) { _, c throws(Errno) in
            var list: [UInt8] = []
            for n in try c.engine.listxattr(ino) {
                list.append(contentsOf: n)
                list.append(0)
            }
            return try sized(list, size)
        }
    }
    ops.removexattr = { req, ino, cname in
        serve(req) { req, c throws(Errno) in
            guard let cname else { throw .EINVAL }
            try c.engine.removexattr(ino, name: cBytes(cname), caller: caller(req))
            return .ok
        }
    }
}

/// An absent SELinux label is "not supported" rather than ENODATA. Only a process asking for
/// the label by name gets here (an active LSM answers for the mount itself, and copying tools
/// ask only for the names listxattr gives), and the two mean the same to it; but `ls -l` (and
/// anything else using coreutils' or libselinux's conventions) asks for every file it lists and
/// stops asking on a device that answers ENOTSUP: a FUSE round trip per entry saved, where the
/// kernel cannot cache the answer (warm `ls -lR` of 8.8k entries: 8,832 GETXATTR requests -> 3).
let selinuxLabel = Array("security.selinux".utf8)

/// The xattr size protocol: size 0 asks for the length, a too small buffer is ERANGE.
private func sized(_ value: [UInt8], _ size: Int) throws(Errno) -> Reply {
    if size == 0 { return .xattrSize(value.count) }
    if value.count > size { throw .ERANGE }
    return .bytes(value)
}
