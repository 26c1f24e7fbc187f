import CFuse
import LayerAPI
import OverlayEngine
import Synchronization

/// Whether an open keeps the kernel's page cache of its file (FOPEN_KEEP_CACHE) instead of
/// dropping it: a warm `tar`, `git log` or compiler run then reads cached pages with no READ
/// request. Safe because every change of a file's data reaches this node's page cache: writes
/// through the mount go through it (or, in passthrough mode, the open that starts that mode
/// drops it, as it never keeps the cache), truncation and copy-up keep the same data, and lower
/// data never changes in place. The exception is a file with several names: each name is its
/// own node, so a write through one leaves the other's pages stale. Such a node never keeps its
/// cache again (its names may have gone back to one while its pages are still old).
struct SharedDataNodes {
    var nodes: Set<NodeID> = []

    /// Records `nlink` for `node` (nil: could not be told) and says whether an open of it may
    /// keep the page cache.
    mutating func mayKeepCache(_ node: NodeID, nlink: UInt64?) -> Bool {
        if nodes.contains(node) { return false }
        guard let nlink, nlink <= 1 else {
            nodes.insert(node)
            return false
        }
        return true
    }
}

extension AdapterContext {
    /// Sets keep_cache on the reply to a cached (not passthrough) open of `node`.
    func setKeepCache(_ fi: UnsafeMutablePointer<fuse_file_info>, node: NodeID) {
        let nlink = (try? engine.getattr(node))?.nlink
        fi.pointee.keep_cache = sharedData.withLock { $0.mayKeepCache(node, nlink: nlink) } ? 1 : 0
    }
}
