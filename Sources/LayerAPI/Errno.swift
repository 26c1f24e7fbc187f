/// A Linux errno value, carried unchanged from the syscall layer through the engine to the FUSE
/// reply. Values are the Linux ABI numbers (identical on x86_64 and arm64).
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let EPERM = Errno(rawValue: 1)
    public static let ENOENT = Errno(rawValue: 2)
    public static let EINTR = Errno(rawValue: 4)
    public static let EIO = Errno(rawValue: 5)
    public static let ENXIO = Errno(rawValue: 6)
    public static let E2BIG = Errno(rawValue: 7)
    public static let EBADF = Errno(rawValue: 9)
    public static let EAGAIN = Errno(rawValue: 11)
    public static let ENOMEM = Errno(rawValue: 12)
    public static let EACCES = Errno(rawValue: 13)
    public static let EBUSY = Errno(rawValue: 16)
    public static let EEXIST = Errno(rawValue: 17)
    public static let EXDEV = Errno(rawValue: 18)
    public static let ENODEV = Errno(rawValue: 19)
    public static let ENOTDIR = Errno(rawValue: 20)
    public static let EISDIR = Errno(rawValue: 21)
    public static let EINVAL = Errno(rawValue: 22)
    public static let EMFILE = Errno(rawValue: 24)
    public static let EFBIG = Errno(rawValue: 27)
    public static let ENOSPC = Errno(rawValue: 28)
    public static let ESPIPE = Errno(rawValue: 29)
    public static let EROFS = Errno(rawValue: 30)
    public static let EMLINK = Errno(rawValue: 31)
    public static let ERANGE = Errno(rawValue: 34)
    public static let ENAMETOOLONG = Errno(rawValue: 36)
    public static let ENOSYS = Errno(rawValue: 38)
    public static let ENOTEMPTY = Errno(rawValue: 39)
    public static let ELOOP = Errno(rawValue: 40)
    public static let ENODATA = Errno(rawValue: 61)
    public static let EOVERFLOW = Errno(rawValue: 75)
    public static let EOPNOTSUPP = Errno(rawValue: 95)
    public static let EDQUOT = Errno(rawValue: 122)

    public var description: String {
        switch self {
        case .EPERM: return "EPERM"
        case .ENOENT: return "ENOENT"
        case .EIO: return "EIO"
        case .EACCES: return "EACCES"
        case .EEXIST: return "EEXIST"
        case .EXDEV: return "EXDEV"
        case .ENOTDIR: return "ENOTDIR"
        case .EISDIR: return "EISDIR"
        case .EINVAL: return "EINVAL"
        case .ENOSPC: return "ENOSPC"
        case .EROFS: return "EROFS"
        case .ENOTEMPTY: return "ENOTEMPTY"
        case .ENODATA: return "ENODATA"
        case .EOPNOTSUPP: return "EOPNOTSUPP"
        case .ELOOP: return "ELOOP"
        case .EDQUOT: return "EDQUOT"
        default: return "errno \(rawValue)"
        }
    }
}
