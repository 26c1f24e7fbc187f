import Glibc
import LayerAPI

/// One line of /proc/self/mountinfo: the mount's device (major:minor, also the name of its
/// backing device info in /sys/class/bdi for a FUSE mount), where it is mounted, its type.
public struct MountEntry: Sendable, Hashable {
    public var device: String
    public var mountpoint: String
    public var type: String
}

/// The mounts of this process's namespace, oldest first (so the last entry for a path is the one
/// on top).
public func mountTable() -> [MountEntry] {
    guard let info = try? readWholeFile("/proc/self/mountinfo") else { return [] }
    var out: [MountEntry] = []
    for line in info.split(separator: 0x0A) {
        let fields = line.split(separator: 0x20)
        guard fields.count > 4, let dash = fields.firstIndex(of: [0x2D]), dash + 1 < fields.count else { continue }
        out.append(
            MountEntry(
                device: String(decoding: fields[2], as: UTF8.self),
                mountpoint: unescapeMountinfo(Array(fields[4])),
                type: String(decoding: fields[dash + 1], as: UTF8.self)))
    }
    return out
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
public func unescapeMountinfo(_ b: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
        if b[i] == 0x5C, i + 3 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
            out.append(v)
            i += 4
        } else {
            out.append(b[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Replaces the content of an existing file such as a sysfs attribute (no create, no truncate).
public func writeExistingFile(_ path: String, _ text: String) throws(Errno) {
    let fd = try FD.open(path, flags: O_WRONLY)
    defer { fd.close() }
    let bytes = Array(text.utf8)
    let result = bytes.withUnsafeBytes { b -> Result<Int, Errno> in
        do throws(Errno) { return .success(try fd.write(b, at: 0)) } catch { return .failure(error) }
    }
    guard try result.get() == bytes.count else { throw .EIO }
}
