import LayerAPI

/// Whiteout devices, made the way the kernel makes them since Linux 5.8: one 0/0 character
/// device in the work directory is shared, and each new whiteout is a hard link to it, so a
/// whiteout costs a directory entry, not an inode. (Creating inodes is what made `rm -rf` of a
/// lower tree slow: on ext4 each mknod scans the inode bitmap, ~0.1-0.8 ms each on these
/// machines, where a link is a few microseconds.) A whiteout is recognised by its type and
/// device number alone, so linked whiteouts read the same for the kernel and fuse-overlayfs.
/// The shared device is an ordinary work-directory entry: emptied with the rest at mount, made
/// again on first use, replaced when it reaches the file system's link limit.
extension OverlayFS {
    /// The shared whiteout's name in the work directory (never a `tempName()`).
    public static let sharedWhiteoutName = Name(validated: Array("#whiteout".utf8))

    /// A new whiteout device at a work place, nil where the upper refuses to make one (the
    /// caller then falls back to a `.wh.` file).
    func makeWhiteoutDevice(_ upper: any UpperLayer) throws(Errno) -> Place? {
        let shared = Place.work(Self.sharedWhiteoutName)
        let work = Place.work(tempName())
        do {
            try upper.link(from: shared, to: work)
            return work
        } catch {
            switch error {
            case .ENOENT: break  // not made yet (or the work directory was emptied)
            case .EMLINK: try? upper.unlink(shared)  // full: a fresh one is made below
            case .EPERM, .EOPNOTSUPP, .EACCES: break  // no hard links here: one device each
            default: throw error
            }
        }
        do {
            try upper.mknod(work, mode: FileType.characterDevice.modeBits, rdev: 0)
        } catch {
            guard error == .EPERM || error == .EOPNOTSUPP || error == .EACCES else { throw error }
            return nil
        }
        // Shared from now on (best effort: without it, the next whiteout is a new device again).
        try? upper.link(from: work, to: shared)
        return work
    }
}
