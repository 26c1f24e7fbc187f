/// One directory entry name: raw bytes, never empty, never containing '/' or NUL.
/// File names need not be UTF-8, so no `String` is involved.
public struct Name: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Accepts any non-empty byte string without '/' or NUL, and not "." or "..".
    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, !bytes.contains(0x2F), !bytes.contains(0),
            bytes != [0x2E], bytes != [0x2E, 0x2E]
        else { return nil }
        self.bytes = bytes
    }

    public init?(_ string: String) { self.init(Array(string.utf8)) }

    /// For names built from constants known to be valid.
    public init(validated bytes: [UInt8]) { self.bytes = bytes }

    public func hasPrefix(_ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && bytes[0..<prefix.count].elementsEqual(prefix)
    }

    public static func < (a: Name, b: Name) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// The bytes in one call (an array's own hashing feeds the hasher a byte at a time, which
    /// showed in profiles of tree walks: every node and listing lookup hashes names).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// A path relative to a layer root: a list of names. The empty path is the root itself.
/// It can never contain "..", "." or an absolute part, so it can never name anything outside
/// the layer by construction; the POSIX layer also refuses to follow symlinks while walking it.
public struct RelPath: Hashable, Sendable, CustomStringConvertible {
    public private(set) var components: [Name]

    public init(_ components: [Name] = []) { self.components = components }

    public static let root = RelPath()

    public var isRoot: Bool { components.isEmpty }
    public var last: Name? { components.last }
    public var parent: RelPath { RelPath(Array(components.dropLast())) }

    public func appending(_ name: Name) -> RelPath {
        var copy = self
        copy.components.append(name)
        return copy
    }

    /// "a/b/c", or "." for the root: the form the *at() syscalls take.
    public var bytes: [UInt8] {
        if components.isEmpty { return [0x2E] }
        var out: [UInt8] = []
        out.reserveCapacity(components.reduce(0) { $0 + $1.bytes.count + 1 })
        for (i, c) in components.enumerated() {
            if i > 0 { out.append(0x2F) }
            out.append(contentsOf: c.bytes)
        }
        return out
    }

    /// Parses "a/b/c" (extra slashes ignored); nil if a component is "." or "..".
    public init?(parsing string: String) {
        var parts: [Name] = []
        for piece in string.utf8.split(separator: 0x2F, omittingEmptySubsequences: true) {
            guard let n = Name(Array(piece)) else { return nil }
            parts.append(n)
        }
        self.components = parts
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
