// Access checks through the mount, as a non-root user, compared with kernel overlayfs.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct Access {
        /// What uid 1000 gets for `read`/`write` of each file of `AccessLayer` under `mnt`.
        static func outcomes(_ mnt: String) -> [String] {
            AccessLayer.files.map { f in
                let p = mnt + "/" + f
                let r = run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "cat", p], timeout: 20)
                let w = run(
                    ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "/bin/sh", "-c", "echo w >> \"$1\"", "sh", p],
                    timeout: 20)
                return "\(f): read \(r.ok ? "ok" : "denied"), write \(w.ok ? "ok" : "denied")"
            }
        }

        /// POSIX ACLs on lower files are enforced: a named-user entry grants what the mode bits
        /// alone would refuse, and refuses what they would grant (kernel overlayfs does both).
        @Test func posixACLsAreEnforced() throws {
            guard run(["setfacl", "--version"]).ok else {
                Issue.record("setfacl is missing (apt-get install acl)")
                return
            }
            let s = try Scratch("acl")
            defer { s.remove() }
            let lower = try s.dir("lower")
            try AccessLayer.build(lower)
            let kernel = try withKernelOverlay(s, lowers: [lower], upper: try s.dir("kupper")) { Access.outcomes($0) }
            #expect(kernel == AccessLayer.expected, "the kernel oracle disagrees with the expectations: \(kernel)")
            try AccessLayer.build(lower)
            let shift = try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work")) {
                Access.outcomes($0.mountpoint)
            }
            #expect(shift == kernel)
        }
    }
}

enum AccessLayer {
    static let files = ["granted", "refused"]
    static let expected = ["granted: read ok, write ok", "refused: read denied, write denied"]

    /// `granted`: mode 0600 root, ACL user:1000:rw. `refused`: mode 0666, ACL user:1000:---.
    static func build(_ dir: String) throws {
        for f in files {
            unlink(dir + "/" + f)
            try write(dir + "/" + f, "x\n")
        }
        sh("chmod 600 granted && setfacl -m u:1000:rw granted", cwd: dir)
        sh("chmod 666 refused && setfacl -m u:1000:- refused", cwd: dir)
    }
}

extension Integration.Access {
    /// New objects in a directory with a default ACL inherit it, and the umask does not apply
    /// there; elsewhere it does (kernel overlayfs gives the same modes and ACLs).
    @Test func defaultACLIsInheritedAndUmaskAppliesElsewhere() throws {
        guard run(["setfacl", "--version"]).ok else {
            Issue.record("setfacl is missing (apt-get install acl)")
            return
        }
        let s = try Scratch("dacl")
        defer { s.remove() }
        let lower = try s.dir("lower")
        sh("mkdir acld plain && setfacl -d -m u:1000:rwx acld", cwd: lower)
        let script = """
            umask 077
            touch acld/f plain/f && mkdir acld/d plain/d && mkfifo acld/p
            umask 022
            for x in acld/f acld/d acld/p plain/f plain/d; do
              echo "$x $(stat -c %a $x) $(getfacl -cpEn $x | tr '\\n' ' ')"
            done
            """
        let kernel = try withKernelOverlay(s, lowers: [lower], upper: try s.dir("kupper")) {
            sh(script, cwd: $0).stdout
        }
        #expect(kernel.contains("acld/f 664 user::rw- user:1000:rwx"), "kernel oracle: \(kernel)")
        let shift = try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work")) {
            sh(script, cwd: $0.mountpoint).stdout
        }
        #expect(shift == kernel)
    }
}
