/// Mode bit constants (Linux values).
public enum ModeBits {
    public static let setUID: UInt32 = 0o4000
    public static let setGID: UInt32 = 0o2000
    public static let sticky: UInt32 = 0o1000
    public static let permissionMask: UInt32 = 0o7777
}
