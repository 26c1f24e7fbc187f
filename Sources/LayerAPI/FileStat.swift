/// Seconds and nanoseconds since the epoch.
public struct Timespec: Hashable, Sendable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
    public static let zero = Timespec(seconds: 0, nanoseconds: 0)
    public static func < (a: Timespec, b: Timespec) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

/// How setTimes changes one timestamp (utimensat's UTIME_OMIT / UTIME_NOW / a value).
public enum TimeUpdate: Hashable, Sendable {
    case omit
    case now
    case set(Timespec)
}

public enum FileType: UInt8, Hashable, Sendable {
    case regular, directory, symlink, characterDevice, blockDevice, fifo, socket, unknown

    public static let formatMask: UInt32 = 0o170000

    public init(mode: UInt32) {
        switch mode & FileType.formatMask {
        case 0o100000: self = .regular
        case 0o040000: self = .directory
        case 0o120000: self = .symlink
        case 0o020000: self = .characterDevice
        case 0o060000: self = .blockDevice
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        default: self = .unknown
        }
    }

    /// The S_IFMT bits of this type.
    public var modeBits: UInt32 {
        switch self {
        case .regular: return 0o100000
        case .directory: return 0o040000
        case .symlink: return 0o120000
        case .characterDevice: return 0o020000
        case .blockDevice: return 0o060000
        case .fifo: return 0o010000
        case .socket: return 0o140000
        case .unknown: return 0
        }
    }

    /// The dirent d_type value (DT_*).
    public var direntType: UInt8 {
        switch self {
        case .regular: return 8
        case .directory: return 4
        case .symlink: return 10
        case .characterDevice: return 2
        case .blockDevice: return 6
        case .fifo: return 1
        case .socket: return 12
        case .unknown: return 0
        }
    }

    public init(direntType: UInt8) {
        switch direntType {
        case 8: self = .regular
        case 4: self = .directory
        case 10: self = .symlink
        case 2: self = .characterDevice
        case 6: self = .blockDevice
        case 1: self = .fifo
        case 12: self = .socket
        default: self = .unknown
        }
    }
}

/// What lstat(2) says of one object. `mode` includes the S_IFMT type bits.
public struct FileStat: Hashable, Sendable {
    public var dev: UInt64 = 0
    public var ino: UInt64 = 0
    public var mode: UInt32 = 0
    public var nlink: UInt64 = 1
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var rdev: UInt64 = 0
    public var size: Int64 = 0
    public var blksize: Int64 = 4096
    public var blocks: Int64 = 0
    public var atime: Timespec = .zero
    public var mtime: Timespec = .zero
    public var ctime: Timespec = .zero

    public init() {}

    public var type: FileType { FileType(mode: mode) }
    /// Permission bits including setuid/setgid/sticky (mode & 07777).
    public var permissions: UInt32 { mode & 0o7777 }
    public var isDirectory: Bool { type == .directory }
    /// A kernel-style overlay whiteout: a character device with device number 0/0.
    public var isWhiteoutDevice: Bool { type == .characterDevice && rdev == 0 }
}

/// What statvfs(2) says of a layer's filesystem.
public struct FSStat: Hashable, Sendable {
    public var blockSize: UInt64 = 4096
    public var fragmentSize: UInt64 = 4096
    public var blocks: UInt64 = 0
    public var blocksFree: UInt64 = 0
    public var blocksAvailable: UInt64 = 0
    public var files: UInt64 = 0
    public var filesFree: UInt64 = 0
    public var filesAvailable: UInt64 = 0
    public var nameMax: UInt64 = 255
    public init() {}
}

/// One directory entry as a layer lists it ("." and ".." are never included).
public struct DirEntry: Hashable, Sendable {
    public var name: Name
    public var type: FileType
    public var ino: UInt64
    public init(name: Name, type: FileType, ino: UInt64) {
        self.name = name
        self.type = type
        self.ino = ino
    }
}
