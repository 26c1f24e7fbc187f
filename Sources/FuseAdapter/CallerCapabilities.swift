import CFuse
import Sys

/// Whether the process behind `req` holds CAP_FSETID, the kernel's test for keeping setuid and
/// setgid on a write: bit 4 of CapEff in /proc/PID/status. Where that cannot be read (the caller
/// is in a pid namespace the daemon cannot see, or already gone), uid 0 stands for it.
func callerHasFSETID(_ req: fuse_req_t) -> Bool {
    guard let ctx = fuse_req_ctx(req) else { return false }
    let pid = ctx.pointee.pid
    if pid > 0, let status = try? readWholeFile("/proc/\(pid)/status"), let caps = effectiveCapabilities(status) {
        return caps & (1 << 4) != 0
    }
    return ctx.pointee.uid == 0
}

/// The hexadecimal CapEff value of a /proc/PID/status text, nil if absent or malformed.
func effectiveCapabilities(_ status: [UInt8]) -> UInt64? {
    let key = Array("CapEff:".utf8)
    var i = 0
    while i + key.count <= status.count {
        if status[i..<(i + key.count)].elementsEqual(key) {
            var j = i + key.count
            while j < status.count, status[j] == 0x09 || status[j] == 0x20 { j += 1 }
            var end = j
            while end < status.count, status[end] != 0x0A { end += 1 }
            return UInt64(String(decoding: status[j..<end], as: UTF8.self), radix: 16)
        }
        while i < status.count, status[i] != 0x0A { i += 1 }
        i += 1
    }
    return nil
}
