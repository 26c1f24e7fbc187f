/// open(2) flags, Linux values. Only the bits the overlay reasons about are named; the rest pass
/// through in `rawValue`.
public struct OpenFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let readOnly: OpenFlags = []
    public static let writeOnly = OpenFlags(rawValue: 0o1)
    public static let readWrite = OpenFlags(rawValue: 0o2)
    public static let create = OpenFlags(rawValue: 0o100)
    public static let exclusive = OpenFlags(rawValue: 0o200)
    public static let noCTTY = OpenFlags(rawValue: 0o400)
    public static let truncate = OpenFlags(rawValue: 0o1000)
    public static let append = OpenFlags(rawValue: 0o2000)
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)
    public static let directIO = OpenFlags(rawValue: 0o40000)
    public static let directory = OpenFlags(rawValue: 0o200000)
    public static let noFollow = OpenFlags(rawValue: 0o400000)
    public static let noATime = OpenFlags(rawValue: 0o1000000)
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)

    public static let accessModeMask: Int32 = 0o3

    /// True when the access mode allows writing (O_WRONLY or O_RDWR).
    public var isWritable: Bool { rawValue & OpenFlags.accessModeMask != 0 }
}

/// renameat2(2) flags.
public struct RenameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noReplace = RenameFlags(rawValue: 1)
    public static let exchange = RenameFlags(rawValue: 2)
    public static let whiteout = RenameFlags(rawValue: 4)
}

/// setxattr(2) flags.
public struct XattrFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let create = XattrFlags(rawValue: 1)
    public static let replace = XattrFlags(rawValue: 2)
}
