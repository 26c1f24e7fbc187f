import Glibc
import LayerAPI

extension FD {
    /// All entries of this directory (opened for reading, not O_PATH) via getdents64, without
    /// "." and "..". The type is the kernel's d_type (`.unknown` when the filesystem gives none).
    /// Reads from the descriptor's current offset; a freshly opened descriptor reads them all.
    public func readDirectoryEntries() throws(Errno) -> [DirEntry] {
        let capacity = 32 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        let fd = rawValue
        var entries: [DirEntry] = []
        while true {
            let n = try retryingOnEINTR { getdents64(fd, buffer, capacity) }
            if n == 0 { break }
            var offset = 0
            while offset < n {
                // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                let record = buffer + offset
                let ino = record.loadUnaligned(as: UInt64.self)
                let reclen = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                let type = record.load(fromByteOffset: 18, as: UInt8.self)
                if reclen <= 19 { throw .EIO }
                let namePointer = (record + 19).assumingMemoryBound(to: UInt8.self)
                let nameLength = strnlen(UnsafeRawPointer(namePointer).assumingMemoryBound(to: CChar.self), reclen - 19)
                offset += reclen
                let nameBytes = UnsafeBufferPointer(start: namePointer, count: nameLength)
                if nameLength == 1 && nameBytes[0] == 0x2E { continue }
                if nameLength == 2 && nameBytes[0] == 0x2E && nameBytes[1] == 0x2E { continue }
                guard let name = Name(Array(nameBytes)) else { continue }
                entries.append(DirEntry(name: name, type: FileType(direntType: type), ino: ino))
            }
        }
        return entries
    }
}
