import LayerAPI

/// Where a copy-up is built before it is put in place: an unnamed file in the work directory
/// (regular files, when the upper filesystem can make one: O_TMPFILE, linked into place as
/// kernel overlayfs does) or a named work entry (renamed into place). Either way the copy
/// appears whole or not at all.
enum CopyTarget {
    case unnamed(any UnnamedFile)
    case named(Place)

    /// The regular file to copy the data into: the unnamed file itself, or a new named one
    /// (`close`: the caller closes it once done).
    func dataFile(_ upper: any UpperLayer) throws(Errno) -> (file: any LayerFile, close: Bool) {
        switch self {
        case .unnamed(let f): return (f, false)
        case .named(let p): return (try upper.create(p, flags: .readWrite, mode: 0o600), true)
        }
    }

    func chown(_ upper: any UpperLayer, uid: UInt32?, gid: UInt32?) throws(Errno) {
        switch self {
        case .unnamed(let f): try f.chown(uid: uid, gid: gid)
        case .named(let p): try upper.chown(p, uid: uid, gid: gid)
        }
    }

    func chmod(_ upper: any UpperLayer, mode: UInt32) throws(Errno) {
        switch self {
        case .unnamed(let f): try f.chmod(mode: mode)
        case .named(let p): try upper.chmod(p, mode: mode)
        }
    }

    func setXattr(_ upper: any UpperLayer, _ name: [UInt8], _ value: [UInt8]) throws(Errno) {
        switch self {
        case .unnamed(let f): try f.setXattr(name, value, flags: [])
        case .named(let p): try upper.setXattr(p, name, value, flags: [])
        }
    }

    func setTimes(_ upper: any UpperLayer, access: TimeUpdate, modification: TimeUpdate) throws(Errno) {
        switch self {
        case .unnamed(let f): try f.setTimes(access: access, modification: modification)
        case .named(let p): try upper.setTimes(p, access: access, modification: modification)
        }
    }

    func truncate(_ upper: any UpperLayer, size: Int64) throws(Errno) {
        switch self {
        case .unnamed(let f): try f.truncate(size)
        case .named(let p): try upper.truncate(p, size: size)
        }
    }

    func stat(_ upper: any UpperLayer) throws(Errno) -> FileStat {
        switch self {
        case .unnamed(let f): return try f.stat()
        case .named(let p): return try upper.stat(p)
        }
    }

    /// Puts the finished copy at `path` (which must not exist).
    func install(_ upper: any UpperLayer, at path: RelPath) throws(Errno) {
        switch self {
        case .unnamed(let f):
            try upper.link(f, to: .tree(path))
            f.close()
        case .named(let p): try upper.rename(from: p, to: .tree(path), flags: .noReplace)
        }
    }

    /// Drops an unfinished copy.
    func discard(_ upper: any UpperLayer) {
        switch self {
        case .unnamed(let f): f.close()
        case .named(let p): try? upper.removeTree(p)
        }
    }
}
