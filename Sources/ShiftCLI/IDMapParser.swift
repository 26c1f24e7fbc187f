import OverlayEngine

/// Parses fuse-overlayfs's `uidmapping=`/`gidmapping=` value: `D:V:N[:D:V:N...]`, where stored
/// ids D..D+N-1 appear through the mount as V..V+N-1. A leading empty field (podman writes
/// `:0:100000:65536`) is ignored. Ranges may not be empty, overflow 2^32, or overlap on either side.
enum IDMapParser {
    static func parse(_ value: String, option: String, overflowID: UInt32) throws(CLIError) -> IDMap {
        var fields = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if fields.first == "" { fields.removeFirst() }
        guard !fields.isEmpty else { throw CLIError("\(option)= needs at least one D:V:N triple") }
        guard fields.count % 3 == 0 else {
            throw CLIError("\(option)=\(value): expected triples D:V:N (storage id, visible id, count)")
        }
        var ranges: [IDMap.Range] = []
        for i in stride(from: 0, to: fields.count, by: 3) {
            let d = try number(fields[i], option, value)
            let v = try number(fields[i + 1], option, value)
            let n = try number(fields[i + 2], option, value)
            guard n > 0 else { throw CLIError("\(option)=\(value): range \(d):\(v):\(n) is empty") }
            guard UInt64(d) + UInt64(n) <= 1 << 32, UInt64(v) + UInt64(n) <= 1 << 32 else {
                throw CLIError("\(option)=\(value): range \(d):\(v):\(n) goes past id 4294967295")
            }
            let r = IDMap.Range(storage: d, visible: v, count: n)
            for other in ranges {
                if overlaps(r.storage, other.storage, r.count, other.count) {
                    throw CLIError(
                        "\(option)=\(value): stored ids of \(d):\(v):\(n) overlap \(other.storage):\(other.visible):\(other.count)")
                }
                if overlaps(r.visible, other.visible, r.count, other.count) {
                    throw CLIError(
                        "\(option)=\(value): visible ids of \(d):\(v):\(n) overlap \(other.storage):\(other.visible):\(other.count)")
                }
            }
            ranges.append(r)
        }
        return IDMap(ranges: ranges, overflowID: overflowID)
    }

    private static func number(_ s: String, _ option: String, _ value: String) throws(CLIError) -> UInt32 {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = UInt32(s) else {
            throw CLIError("\(option)=\(value): '\(s)' is not an id (0...4294967295)")
        }
        return n
    }

    private static func overlaps(_ a: UInt32, _ b: UInt32, _ na: UInt32, _ nb: UInt32) -> Bool {
        UInt64(a) < UInt64(b) + UInt64(nb) && UInt64(b) < UInt64(a) + UInt64(na)
    }
}
