import LayerAPI

/// Owners and modes as stored: for real, or in the stat-override xattr when a layer keeps them
/// there (rootless storage).
extension OverlayFS {
    /// The override name of the layer providing `placement`, nil for a plain layer.
    func overrideName(_ placement: Placement) -> [UInt8]? {
        if placement.upper { return upperOverride }
        guard let i = placement.lowers.first, i < lowerOverride.count else { return nil }
        return lowerOverride[i]
    }

    /// The override recorded on the object at `path`, if its layer uses overrides and it has one.
    func storedOverride(_ placement: Placement, _ path: RelPath) -> OverrideStat? {
        guard let name = overrideName(placement), let layer = try? providingLayer(placement),
            let value = try? layer.getXattr(placement.providing(path), name)
        else { return nil }
        return OverrideStat(parsing: value)
    }

    /// The owner and permissions an upper object has as stored (override or real).
    func storedOwnership(_ upper: any UpperLayer, _ place: Place) throws(Errno) -> OverrideStat {
        if let name = upperOverride, let v = try? upper.getXattr(place, name), let o = OverrideStat(parsing: v) {
            return o
        }
        return OverrideStat(try upper.stat(place))
    }

    /// chown in the upper layer: the override xattr when the upper keeps owners there.
    func storeOwner(_ upper: any UpperLayer, _ place: Place, uid: UInt32?, gid: UInt32?) throws(Errno) {
        guard let name = upperOverride else {
            try upper.chown(place, uid: uid, gid: gid)
            return
        }
        var o = try storedOwnership(upper, place)
        if let uid { o.uid = uid }
        if let gid { o.gid = gid }
        try upper.setXattr(place, name, o.bytes, flags: [])
    }

    /// chmod in the upper layer: the override xattr when the upper keeps modes there (the real
    /// mode then stays owner-accessible so the daemon can still use the file).
    func storeMode(_ upper: any UpperLayer, _ place: Place, _ mode: UInt32) throws(Errno) {
        guard let name = upperOverride else {
            try upper.chmod(place, mode: mode)
            return
        }
        var o = try storedOwnership(upper, place)
        o.permissions = mode & ModeBits.permissionMask
        try upper.setXattr(place, name, o.bytes, flags: [])
    }
}
