// An absent security.selinux label answers "Operation not supported" (not ENODATA), so that
// `ls -l` stops asking for it on this mount; a label that is there is still read and written.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct SelinuxLabel {
        @Test func absentLabelIsNotSupportedPresentLabelIsRead() throws {
            let s = try Scratch("selinux-label")
            defer { s.remove() }
            let lower = try s.dir("lower")
            let upper = try s.dir("upper")
            let work = try s.dir("work")
            try write(lower + "/plain", "p\n")
            try write(lower + "/labelled", "l\n")
            #expect(run(["setfattr", "-n", "security.selinux", "-v", "system_u:object_r:etc_t:s0", lower + "/labelled"]).ok)
            try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                let absent = run(["getfattr", "-n", "security.selinux", m.mountpoint + "/plain"])
                #expect(!absent.ok && absent.stderr.contains("Operation not supported"), "\(absent)")
                let other = run(["getfattr", "-n", "user.nothing", m.mountpoint + "/plain"])
                #expect(!other.ok && other.stderr.contains("No such attribute"), "other names keep ENODATA: \(other)")
                let present = run(["getfattr", "--only-values", "-n", "security.selinux", m.mountpoint + "/labelled"])
                #expect(present.ok && present.stdout.hasPrefix("system_u:object_r:etc_t:s0"), "\(present)")
                #expect(run(["setfattr", "-n", "security.selinux", "-v", "x", m.mountpoint + "/plain"]).ok)
                let set = run(["getfattr", "--only-values", "-n", "security.selinux", m.mountpoint + "/plain"])
                #expect(set.ok && set.stdout.hasPrefix("x"), "\(set)")
                #expect(run(["ls", "-lZ", m.mountpoint]).ok)
            }
        }
    }
}
