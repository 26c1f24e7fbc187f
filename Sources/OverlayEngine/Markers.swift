import LayerAPI

/// The on-disk vocabulary shared with kernel overlayfs and fuse-overlayfs.
enum Markers {
    /// Image-style whiteout prefix: `.wh.NAME` hides NAME in lower layers.
    static let whiteoutPrefix: [UInt8] = Array(".wh.".utf8)
    /// Image-style opaque marker file inside a directory.
    static let opaqueFile = Name(validated: Array(".wh..wh..opq".utf8))
    /// xattrs that mark a directory opaque (value "y").
    static let opaqueXattrs: [[UInt8]] = [
        Array("trusted.overlay.opaque".utf8),
        Array("user.overlay.opaque".utf8),
        Array("user.fuseoverlayfs.opaque".utf8),
    ]
    /// What we write, in order of preference (the kernel reads the first as root).
    static let opaqueWrite: [[UInt8]] = [
        Array("trusted.overlay.opaque".utf8),
        Array("user.fuseoverlayfs.opaque".utf8),
    ]
    static let yes: [UInt8] = [0x79]  // "y"
    /// Set by copy-up on the upper copy: the path (from the root, "a/b") of the lower object it
    /// was copied from. Lets a later mount show the lower inode number. The trusted name is
    /// hidden by kernel overlayfs (and works on symlinks); fuse-overlayfs's user name (which it
    /// writes too, with the same value) is the fallback when trusted xattrs cannot be written.
    static let originXattrs: [[UInt8]] = [
        Array("trusted.overlay.shiftoverlay.origin".utf8),
        Array("user.fuseoverlayfs.origin".utf8),
    ]

    /// xattr name prefixes private to the overlay: never shown, never settable through the mount.
    static let privateXattrPrefixes: [[UInt8]] = [
        Array("trusted.overlay.".utf8),
        Array("user.overlay.".utf8),
        Array("user.fuseoverlayfs.".utf8),
        Array("security.fuseoverlayfs.".utf8),
    ]
    /// containers/storage's stat override: it describes the object, so it is the overlay's to
    /// interpret, not the container's to change.
    static let containersOverride: [UInt8] = Array("user.containers.override_stat".utf8)

    static func isPrivateXattr(_ name: [UInt8]) -> Bool {
        name == containersOverride
            || privateXattrPrefixes.contains { p in name.count >= p.count && name[0..<p.count].elementsEqual(p) }
    }

    /// True for names the overlay itself interprets and therefore never shows or creates.
    static func isReservedName(_ name: Name) -> Bool { name.hasPrefix(whiteoutPrefix) }

    static func whiteoutName(for name: Name) -> Name? { Name(whiteoutPrefix + name.bytes) }

    /// The NAME a `.wh.NAME` entry hides, nil if `entry` is not such an entry (the opaque file
    /// is not a whiteout of anything).
    static func whitedOut(by entry: Name) -> Name? {
        guard entry.hasPrefix(whiteoutPrefix), entry != opaqueFile else { return nil }
        return Name(Array(entry.bytes.dropFirst(whiteoutPrefix.count)))
    }
}
