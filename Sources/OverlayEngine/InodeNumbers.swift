import LayerAPI

/// Visible inode numbers. An object shows the inode number of the layer object that provides it,
/// with the index of that object's device in the top 16 bits (so two layers on different
/// filesystems never collide, and hard links across layers of one filesystem stay one inode, as
/// with kernel overlayfs). A file keeps the number it had before copy-up for the life of the mount.
struct InodeNumbers: Sendable {
    private var devices: [UInt64: UInt64] = [:]
    /// Real (dev, ino) of an upper object made by copy-up -> the number it showed before.
    private var kept: [DevIno: UInt64] = [:]
    /// Upper objects whose origin xattr was already looked at (kept or not).
    private var originChecked: Set<DevIno> = []
    /// Real (dev, ino) pairs too large to compose -> assigned numbers.
    private var large: [DevIno: UInt64] = [:]
    private var nextLarge: UInt64 = 0xFFFF_0000_0000_0000

    struct DevIno: Hashable, Sendable {
        var dev: UInt64
        var ino: UInt64
    }

    static let inoBits: UInt64 = 48

    /// Gives the layers' devices their indices in layer order (upper first, then the lowers from
    /// the top), so the numbers do not depend on the order objects are first looked up and stay
    /// the same across mounts of the same layers.
    mutating func register(devices layerDevices: [UInt64]) {
        for dev in layerDevices where devices[dev] == nil {
            devices[dev] = UInt64(devices.count) + 1
        }
    }

    mutating func visible(dev: UInt64, ino: UInt64) -> UInt64 {
        let key = DevIno(dev: dev, ino: ino)
        if let k = kept[key] { return k }
        if ino >> InodeNumbers.inoBits != 0 {
            if let l = large[key] { return l }
            nextLarge += 1
            large[key] = nextLarge
            return nextLarge
        }
        let index: UInt64
        if let i = devices[dev] {
            index = i
        } else {
            index = UInt64(devices.count) + 1
            devices[dev] = index
        }
        return (index << InodeNumbers.inoBits) | ino
    }

    /// After copy-up: the upper object (dev, ino) keeps showing `number`.
    mutating func keep(dev: UInt64, ino: UInt64, as number: UInt64) {
        kept[DevIno(dev: dev, ino: ino)] = number
    }

    /// The upper object is gone (its real inode number may be reused).
    mutating func drop(dev: UInt64, ino: UInt64) {
        kept[DevIno(dev: dev, ino: ino)] = nil
        originChecked.remove(DevIno(dev: dev, ino: ino))
    }

    /// True the first time it is asked for an upper object (dev, ino) that has no kept number:
    /// its origin xattr should then be read (once).
    mutating func needsOriginCheck(dev: UInt64, ino: UInt64) -> Bool {
        let key = DevIno(dev: dev, ino: ino)
        if kept[key] != nil { return false }
        return originChecked.insert(key).inserted
    }
}
