// Read-write: the workload through shiftoverlay, then the same upper through a shiftoverlay
// remount and through kernel overlayfs; and the reverse (kernel writes, shiftoverlay reads).

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct ReadWrite {
        @Test func workloadThenRemountAndKernelSeeTheSameTree() throws {
            let (s, top, bottom, upper, work) = try RWLayers.stack("rw")
            defer { s.remove() }
            let lowerBefore = try TreeView(bottom)
            let topBefore = try TreeView(top)
            let mnt = try s.dir("mnt")

            let first = try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, mountpoint: mnt) {
                m in
                RWLayers.applyChanges(mnt: m.mountpoint, scratch: s.root)
                // Private xattrs (opaque markers, ...) are never visible through the mount.
                let priv = run(["getfattr", "-R", "-h", "-d", "-m", "^trusted\\.overlay\\.", "."], cwd: m.mountpoint)
                #expect(priv.ok && priv.stdout.isEmpty, "private xattrs visible: \(priv.stdout)")
                return try TreeView(m.mountpoint)
            }
            #expect(first.listing.count > 30)

            // The lowers are unchanged; the upper holds the copy-ups and whiteouts.
            let lowerAfter = try TreeView(bottom)
            let lowerSame = lowerAfter == lowerBefore
            #expect(lowerSame, "a lower layer changed:\n\(lowerBefore.diff(lowerAfter))")
            let topAfter = try TreeView(top)
            let topSame = topAfter == topBefore
            #expect(topSame, "the top lower changed:\n\(topBefore.diff(topAfter))")
            RWLayers.checkUpper(upper: upper, bottom: bottom)

            // Remount shiftoverlay on the same upper: same view. File mtimes are compared to the ns:
            // a view that shows one mtime while mounted and another after a remount (fuse-overlayfs
            // 1.10 does, for files just written: stale cached attributes) is a real inconsistency.
            let again = try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work, mountpoint: mnt) {
                try TreeView($0.mountpoint)
            }
            let remountSame = again == first
            #expect(remountSame, "shiftoverlay remount differs:\n\(first.diff(again))")

            // Kernel overlayfs on the same lowers and upper: same view.
            let kernel = try withKernelOverlay(s, lowers: [top, bottom], upper: upper) { try TreeView($0) }
            let kernelSame = kernel == first
            #expect(kernelSame, "kernel overlayfs sees a different tree (left shiftoverlay):\n\(first.diff(kernel))")
        }

        @Test func kernelWritesShiftoverlayReads() throws {
            let (s, top, bottom, upper, work) = try RWLayers.stack("rw-rev")
            defer { s.remove() }
            let kernel = try withKernelOverlay(s, lowers: [top, bottom], upper: upper) { mnt in
                RWLayers.applyChanges(mnt: mnt, scratch: s.root)
                return try TreeView(mnt)
            }
            try #require(kernel.listing.count > 30)
            let shift = try withShiftoverlay(s, lowers: [top, bottom], upper: upper, work: work) {
                try TreeView($0.mountpoint)
            }
            let same = shift == kernel
            #expect(same, "shiftoverlay differs from what kernel overlayfs wrote (left kernel):\n\(kernel.diff(shift))")
        }
    }
}
