// Clearing setuid/setgid bits on write, truncate, O_TRUNC open and chown. With FUSE_HANDLE_KILLPRIV_V2 agreed
// this is the daemon's job (the kernel only says when), and in exchange the kernel stops asking
// for security.capability before every write.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct SetIDClearing {
        /// Lower files and their modes. A setgid file without group execute is left out: for a
        /// caller outside its group the kernel clears the bit, the FUSE protocol (and so this
        /// daemon, with or without KILLPRIV_V2) only for group-executable files.
        static let modes = [
            "w-suid": "4777", "w-sgid": "2777", "w-both": "6777", "t-suid": "4777", "root-w": "4777",
            "chown": "4755", "chown-sgid": "2775", "plain": "0777", "o-trunc": "6777",
            "cap-root-w": "4755", "cap-user-w": "4777",
        ]
        /// Lower files that also carry a file capability (security.capability).
        static let capped = ["cap-root-w", "cap-user-w"]

        /// Runs the writes, truncates and chowns under `mnt`; returns "name mode size" lines.
        static func exercise(_ mnt: String) -> RunResult {
            sh(
                """
                set -e
                u() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
                u sh -c 'echo y >> w-suid; echo y >> w-sgid; echo y >> w-both; truncate -s 0 t-suid; echo y >> plain; : > o-trunc'
                echo y >> root-w                                  # CAP_FSETID: keeps setuid
                echo y >> cap-root-w; u sh -c 'echo y >> cap-user-w'   # the capability goes either way
                chown 0:0 chown; chown 0:0 chown-sgid             # chown clears them, even for root
                cat plain > up; chmod 4777 up; u sh -c 'echo z >> up'   # an upper file (passthrough)
                chmod 4777 up; u sh -c 'echo z >> up'                     # again, once the kernel knows it
                stat -c '%n %a %s' cap-root-w cap-user-w chown chown-sgid o-trunc plain root-w t-suid up w-both w-sgid w-suid
                getcap cap-root-w cap-user-w; echo capabilities checked
                """, cwd: mnt)
        }

        static func build(_ lower: String) throws {
            for (name, mode) in modes {
                try write(lower + "/" + name, "x")
                #expect(run(["chmod", mode, lower + "/" + name]).ok)
            }
            for name in capped { #expect(run(["setcap", "cap_net_raw+ep", lower + "/" + name]).ok) }
        }

        static let expected = """
            cap-root-w 4755 3
            cap-user-w 777 3
            chown 755 1
            chown-sgid 775 1
            o-trunc 777 0
            plain 777 3
            root-w 4777 3
            t-suid 777 0
            up 777 7
            w-both 777 3
            w-sgid 777 3
            w-suid 777 3
            capabilities checked

            """

        @Test(arguments: [[], ["passthrough=off"], ["xattr_permissions=2"]])
        func clearedAsByKernelOverlayfs(extra: [String]) throws {
            let s = try Scratch("setid")
            defer { s.remove() }
            let klower = try s.dir("klower")
            try SetIDClearing.build(klower)
            let kernel = try withKernelOverlay(s, lowers: [klower], upper: try s.dir("kupper")) { SetIDClearing.exercise($0) }
            #expect(kernel.ok && kernel.stdout == SetIDClearing.expected, "the kernel oracle: \(kernel)")
            let lower = try s.dir("lower")
            try SetIDClearing.build(lower)
            try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work"), extra: extra) { m in
                let r = SetIDClearing.exercise(m.mountpoint)
                #expect(r.ok, "\(r)")
                #expect(r.stdout == kernel.stdout, "\(m.log)")
                #expect(statusLine(m).contains("killpriv_v2 on"))
            }
        }

        /// Writes to one file ask the daemon for security.capability once, not once per write.
        @Test(arguments: [[], ["passthrough=off"]])
        func writesDoNotAskForCapabilityEachTime(extra: [String]) throws {
            let s = try Scratch("setid-requests")
            defer { s.remove() }
            let lower = try s.dir("lower")
            try write(lower + "/low", "x")
            try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work"), extra: extra) { m in
                let before = getxattrRequests(m)
                let r = sh(
                    """
                    dd if=/dev/zero of=new bs=4k count=200 status=none
                    dd if=/dev/zero of=low bs=4k count=200 conv=notrunc status=none
                    u() { setpriv --reuid=1000 --regid=1000 --clear-groups "$@"; }
                    chmod 666 new; u dd if=/dev/zero of=new bs=4k count=200 conv=notrunc status=none
                    """, cwd: m.mountpoint)
                #expect(r.ok, "\(r)")
                let asked = getxattrRequests(m) - before
                #expect(before >= 0 && asked >= 1 && asked <= 6, "600 writes to 2 files: \(asked) GETXATTR requests")
            }
        }
    }
}

/// The number after "getxattr requests " in the status line (-1 if absent).
private func getxattrRequests(_ m: ShiftMount) -> Int {
    let line = statusLine(m)
    guard let r = line.range(of: "getxattr requests ") else { return -1 }
    return Int(line[r.upperBound...].prefix { $0.isNumber }) ?? -1
}
