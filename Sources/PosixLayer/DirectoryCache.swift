import LayerAPI
import Sys
import Synchronization

/// Open descriptors of directories inside one layer, by path, so that a lookup does not pay an
/// openat2 walk of the parent path every time. Lower layers never change under the mount; the
/// upper layer clears the cache whenever a directory may have moved or gone (rename, rmdir,
/// removeTree), so a cached descriptor always names the directory at its path.
///
/// Entries are reference-counted owners: dropping one from the table never closes a descriptor
/// another thread is still using (it closes when its last user lets go).
final class DirectoryCache: Sendable {
    /// Protected by its Mutex; at most `capacity` entries (the whole table is dropped when full,
    /// which is rare and cheap compared to the walks it saves).
    /// `generation` counts clears: a descriptor opened before a clear must not be cached after it
    /// (the directory may have moved between the walk and the insert).
    private let entries = Mutex<(table: [RelPath: FileDescriptor], generation: UInt64)>(([:], 0))
    static let capacity = 128

    /// The cached descriptor of `path`, or the generation to pass to `put` after opening it.
    func get(_ path: RelPath) -> (FileDescriptor?, UInt64) {
        entries.withLock { ($0.table[path], $0.generation) }
    }

    func put(_ path: RelPath, _ dir: FileDescriptor, openedAt generation: UInt64) {
        entries.withLock { e in
            guard e.generation == generation else { return }
            if e.table.count >= DirectoryCache.capacity { e.table.removeAll(keepingCapacity: true) }
            e.table[path] = dir
        }
    }

    func clear() {
        entries.withLock { e in
            e.table.removeAll(keepingCapacity: true)
            e.generation &+= 1
        }
    }
}
