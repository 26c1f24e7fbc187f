import LayerAPI
import Sys

/// An O_TMPFILE regular file in the upper layer's work directory (`UnnamedFile`): attribute
/// changes go to the descriptor.
final class PosixUnnamedFile: PosixFile, UnnamedFile, @unchecked Sendable {
    func chown(uid: UInt32?, gid: UInt32?) throws(Errno) {
        try handle.fd.chownAt([], uid: uid, gid: gid, flags: SysFlags.atEmptyPath)
    }

    func chmod(mode: UInt32) throws(Errno) { try handle.fd.chmod(mode: mode) }

    func setXattr(_ name: [UInt8], _ value: [UInt8], flags: XattrFlags) throws(Errno) {
        try handle.fd.setXattr(nil, name, value, flags: flags.rawValue)
    }

    func setTimes(access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        try handle.fd.setTimesAt(nil, access: access, modification: modification)
    }
}
