import LayerAPI

/// Directory redirects (kernel overlayfs `redirect_dir=on`, in its on-disk format). Renaming a
/// directory that has lower layers copies up the directory alone, moves it in the upper layer
/// and records in `trusted.overlay.redirect` (`user.overlay.redirect` where trusted xattrs cannot
/// be written) where its lower directories are: its old name when it stays in the same directory
/// ("a": in the parent's lower directories), else its lower path from the root ("/x/a"). An
/// upper directory with a redirect merges with the lower directories it names instead of those
/// at its own name, and so do its descendants (a child's lower path is its parent's + its name):
/// `Placement.lowerPath` carries that path. A whiteout is left at the old name when a lower
/// layer still has that name. An opaque directory's redirect is ignored (it merges with
/// nothing), and redirects in lower layers are not followed.
extension OverlayFS {
    /// The kernel's default `redirect_max`: longer redirects are not written (EXDEV: `mv`
    /// copies instead).
    static let redirectMax = 256

    /// Where a redirect points: the lower path, and whether it was absolute (walked from the
    /// root) or relative (a name in the parent's lower directories).
    struct Redirect {
        var path: RelPath
        var absolute: Bool
    }

    /// The first of `names` the object at `path` in `layer` has, nil when it has none.
    static func readPrivate(_ layer: any Layer, _ path: RelPath, _ names: [[UInt8]]) throws(Errno) -> [UInt8]? {
        for name in names {
            do { return try layer.getXattr(path, name) } catch {
                guard error == .ENODATA || error == .EOPNOTSUPP else { throw error }
            }
        }
        return nil
    }

    /// The redirect of the upper directory at `path` (its parent's lower directories are at
    /// `lowerDir`), if redirects are followed and it has a valid one.
    func redirect(of path: RelPath, lowerDir: RelPath) throws(Errno) -> Redirect? {
        guard options.redirectDir != .nofollow, let upper, let name = path.last,
            let value = try Self.readPrivate(upper, path, Self.redirectXattrs)
        else { return nil }
        let absolute = value.first == 0x2F
        guard !value.isEmpty, let target = Self.redirectTarget(value, from: lowerDir.appending(name)) else {
            warn("directory \(path): invalid redirect \(String(decoding: value, as: UTF8.self))")
            return nil
        }
        return Redirect(path: target, absolute: absolute)
    }

    /// The lower directories a redirected directory merges with: those at its target, found as
    /// a lookup through the lower layers finds them (from the root for an absolute redirect,
    /// in the parent's lower directories for a relative one). Empty when there is none.
    func redirectedLowers(_ redirect: Redirect, parent: Placement) throws(Errno) -> [Int] {
        var stack: [Int]
        var dir: RelPath
        var names: [Name]
        if redirect.absolute {
            stack = state.withLock { $0.nodes[1]?.placement.lowers ?? [] }
            dir = .root
            names = redirect.path.components
        } else {
            guard let name = redirect.path.last else { return [] }
            stack = parent.lowers
            dir = redirect.path.parent
            names = [name]
        }
        for name in names {
            guard !stack.isEmpty,
                let (found, _) = try resolve(dir, Placement(upper: false, lowers: stack, type: .directory), name),
                found.type == .directory
            else { return [] }
            stack = found.lowers
            dir = dir.appending(name)
        }
        return stack
    }

    /// Before the upper directory at `path` with `placement` (lower directories, lower path
    /// derived) moves: records where its lower directories are, as the kernel does. Within the
    /// same directory its current name, unless it has a redirect already; into another the
    /// absolute lower path, unless it has an absolute redirect already. EXDEV (the caller then
    /// copies) when redirects are off, the value would exceed `redirectMax`, or the upper layer
    /// takes no such xattr.
    func setDirectoryRedirect(_ upper: any UpperLayer, _ path: RelPath, _ placement: Placement, sameDirectory: Bool) throws(Errno) {
        guard options.redirectDir == .on, let name = path.last else { throw .EXDEV }
        if let existing = try Self.readPrivate(upper, path, Self.redirectXattrs), !existing.isEmpty,
            Self.redirectTarget(existing, from: placement.lower(path)) != nil,
            sameDirectory || existing.first == 0x2F
        {
            return
        }
        let value = sameDirectory ? name.bytes : [0x2F] + placement.lower(path).bytes
        guard value.count <= Self.redirectMax else { throw .EXDEV }
        do {
            try setPrivate(upper, .tree(path), Self.redirectXattrs, value)
        } catch {
            throw error == .EOPNOTSUPP ? .EXDEV : error
        }
        trace("redirect \(path) -> \(String(decoding: value, as: UTF8.self))")
    }

    /// Under `namespace`, before a directory with lower layers moves: copies it up (the
    /// directory alone) if it is not in the upper layer yet, its parent first. Returns its
    /// placement as an upper directory.
    func copyUpForMove(_ parent: NodeID, _ name: Name, _ path: RelPath, _ placement: Placement) throws(Errno) -> Placement {
        if placement.upper { return placement }
        let upper = try writable()
        try ensureUpperDirectory(parent)
        let node = state.withLock { $0.child(parent, name) }
        try copyUpDirectory(at: path, placement, node: node, upper: upper)
        var p = placement
        p.upper = true
        return p
    }
}
