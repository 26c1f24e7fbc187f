import LayerAPI

extension MemoryLayer {
    /// Every operation that can be made to fail with `injectFault`. Calls through a `RelPath`
    /// (the read-only `Layer` methods) and through a `Place` count as the same operation; the
    /// `file…` cases are the `LayerFile` methods of files this layer opened.
    public enum Operation: Hashable, Sendable, CaseIterable {
        case stat, readDirectory, readLink, getXattr, listXattr, open, statfs
        case create, mkdir, mknod, symlink, link, unlink, rmdir, rename
        case chmod, chown, setTimes, truncate, setXattr, removeXattr, removeTree, sync
        case fileRead, fileWrite, fileStat, fileTruncate, fileSync, fileAllocate
        case fileNextData, fileNextHole
    }
}

/// A pending injected failure: fires once, on the call after `remaining` more calls.
struct Fault {
    /// nil: any operation (the n-th layer call of whatever kind).
    let operation: MemoryLayer.Operation?
    let errno: Errno
    var remaining: Int
}

extension Tree {
    /// Counts one call of `operation`; throws if an injected fault is due on it. At most one
    /// fault fires per call; the others just count the call.
    func checkFault(_ operation: MemoryLayer.Operation) throws(Errno) {
        calls += 1
        guard !faults.isEmpty else { return }
        var fired: Errno?
        var kept: [Fault] = []
        kept.reserveCapacity(faults.count)
        for var fault in faults {
            guard fault.operation == nil || fault.operation == operation else {
                kept.append(fault)
                continue
            }
            if fault.remaining == 0 && fired == nil {
                fired = fault.errno
            } else {
                if fault.remaining > 0 { fault.remaining -= 1 }
                kept.append(fault)
            }
        }
        faults = kept
        if let fired { throw fired }
    }
}
