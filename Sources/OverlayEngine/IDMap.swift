/// One uid or gid mapping table in fuse-overlayfs's direction: in a range (D, V, N), ids
/// D..D+N-1 as stored in the layers appear through the mount as V..V+N-1, and ids written
/// through the mount map back. An empty table is the identity.
public struct IDMap: Sendable, Hashable {
    public struct Range: Sendable, Hashable {
        public var storage: UInt32
        public var visible: UInt32
        public var count: UInt32
        public init(storage: UInt32, visible: UInt32, count: UInt32) {
            self.storage = storage
            self.visible = visible
            self.count = count
        }
    }

    public private(set) var ranges: [Range]
    /// Shown for a stored id that no range covers (/proc/sys/kernel/overflowuid).
    public var overflowID: UInt32

    public static let identity = IDMap(ranges: [], overflowID: 65534)

    public init(ranges: [Range], overflowID: UInt32 = 65534) {
        self.ranges = ranges
        self.overflowID = overflowID
    }

    public var isIdentity: Bool { ranges.isEmpty }

    /// The id shown through the mount for an id stored in a layer.
    public func toVisible(_ stored: UInt32) -> UInt32 {
        if ranges.isEmpty { return stored }
        for r in ranges where stored >= r.storage && UInt64(stored) < UInt64(r.storage) + UInt64(r.count) {
            return r.visible + (stored - r.storage)
        }
        return overflowID
    }

    /// The id to store for an id given through the mount, nil if no range covers it.
    public func toStorage(_ visible: UInt32) -> UInt32? {
        if ranges.isEmpty { return visible }
        for r in ranges where visible >= r.visible && UInt64(visible) < UInt64(r.visible) + UInt64(r.count) {
            return r.storage + (visible - r.visible)
        }
        return nil
    }
}
