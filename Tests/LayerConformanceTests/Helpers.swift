import LayerAPI
import Testing

/// `Place.tree` from "a/b/c" ("" is the root).
func at(_ path: String) -> Place {
    .tree(RelPath(path.split(separator: "/").map { Name(validated: Array($0.utf8)) }))
}

/// `Place.work` of one name.
func work(_ name: String) -> Place { .work(Name(validated: Array(name.utf8))) }

func name(_ s: String) -> Name { Name(validated: Array(s.utf8)) }

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

let S_IFREG: UInt32 = 0o100000
let S_IFDIR: UInt32 = 0o040000
let S_IFLNK: UInt32 = 0o120000
let S_IFCHR: UInt32 = 0o020000
let S_IFBLK: UInt32 = 0o060000
let S_IFIFO: UInt32 = 0o010000
let S_IFSOCK: UInt32 = 0o140000

/// glibc's makedev.
func makedev(_ major: UInt64, _ minor: UInt64) -> UInt64 {
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

@discardableResult
func write(_ file: any LayerFile, _ data: [UInt8], at offset: Int64) throws -> Int {
    try data.withUnsafeBytes { (buf) throws(Errno) in try file.write(buf, at: offset) }
}

func read(_ file: any LayerFile, count: Int, at offset: Int64) throws -> [UInt8] {
    var out = [UInt8](repeating: 0xAA, count: count)
    let n = try out.withUnsafeMutableBytes { (buf) throws(Errno) in try file.read(into: buf, at: offset) }
    return Array(out[0..<n])
}

/// Creates a regular file holding `content` (mode 0644) and closes it.
func makeFile(_ layer: any UpperLayer, _ place: Place, _ content: String = "", mode: UInt32 = 0o644) throws {
    let f = try layer.create(place, flags: .readWrite, mode: mode)
    defer { f.close() }
    if !content.isEmpty { try write(f, bytes(content), at: 0) }
}

/// The whole content of the regular file at `place`.
func contents(_ layer: any UpperLayer, _ place: Place) throws -> [UInt8] {
    let f = try layer.open(place, .readOnly)
    defer { f.close() }
    let size = try f.stat().size
    return try read(f, count: Int(size) + 16, at: 0)
}

/// A time far in the past, to see later changes without depending on clock granularity.
let longAgo = Timespec(seconds: 1_000_000, nanoseconds: 5)

/// Lets the filesystem clock move on (ext4 stamps with a coarse clock).
func tick() async throws { try await Task.sleep(for: .milliseconds(20)) }

/// The sorted names of a directory.
func names(_ layer: any UpperLayer, _ place: Place) throws -> [String] {
    try layer.readDirectory(place).map(\.name.description).sorted()
}
