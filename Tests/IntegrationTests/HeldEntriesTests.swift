// readdirplus leaves the entries the kernel already holds to its own caches (node id 0) when names
// and attributes are cached for long. Listings after changes made through the mount must still
// show what kernel overlayfs shows, and every listed d_ino and d_type must match lstat.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Integration {
    @Suite struct HeldEntries {
        static func build(_ lower: String) -> RunResult {
            sh(
                """
                mkdir -p d/sub; cd d
                for f in a b c h1 del; do echo $f > $f; done
                ln h1 h2; ln -s a l; echo s > sub/s; chmod 640 b
                """, cwd: lower)
        }

        /// Lists d (name, type, mode; link count and size of non-directories) with `find`, which
        /// reads each directory and lstats each name: once the kernel holds every name, after
        /// changes through the mount, and after more.
        static let script = """
            cd d
            ls -l > /dev/null; stat ./* sub/* > /dev/null
            listing() { find . \\( -type d -printf '%p %y %m\\n' \\) -o -printf '%p %y %m %n %s\\n' | sort; echo --; }
            listing
            touch new1; mkdir newd; chmod 600 a; ln b b2; mv c c2; rm del h1; ln -s x sym2; echo more >> h2
            listing
            chmod 604 a; echo more >> b2; rm -r sub; mkdir sub; echo t > sub/t; mv new1 newd/
            listing
            """

        @Test(arguments: [[], ["timeout=1"]])
        func listingsMatchKernelOverlayfs(extra: [String]) throws {
            let s = try Scratch("held")
            defer { s.remove() }
            let klower = try s.dir("klower")
            #expect(HeldEntries.build(klower).ok)
            let kernel = try withKernelOverlay(s, lowers: [klower], upper: try s.dir("kupper")) { sh(HeldEntries.script, cwd: $0) }
            #expect(kernel.ok && kernel.stdout.contains("./newd/new1 f 644 1 0"), "the kernel oracle: \(kernel)")
            let lower = try s.dir("lower")
            #expect(HeldEntries.build(lower).ok)
            try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work"), extra: extra) { m in
                let r = sh(HeldEntries.script, cwd: m.mountpoint)
                #expect(r.ok, "\(r)")
                #expect(r.stdout == kernel.stdout, "\(m.log)")
                for dir in ["d", "d/sub", "d/newd"] {
                    let bad = direntMismatches(m.mountpoint + "/" + dir)
                    #expect(bad.isEmpty, "\(dir): \(bad)")
                }
                let held = heldEntries(m)
                if extra.isEmpty {
                    #expect(held > 0, "listings of names the kernel holds: \(statusLine(m))")
                } else {
                    #expect(held == 0, "timeout=1: every listed entry is looked up again: \(statusLine(m))")
                }
            }
        }
    }
}

/// Entries of `dir` whose d_ino or d_type differ from what lstat says.
private func direntMismatches(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return ["opendir: errno \(errno)"] }
    defer { closedir(d) }
    var bad: [String] = []
    var names = 0
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        names += 1
        var st = stat()
        guard lstat(dir + "/" + name, &st) == 0 else {
            bad.append("\(name): lstat errno \(errno)")
            continue
        }
        let type = UInt8((st.st_mode & S_IFMT) >> 12)
        if e.pointee.d_ino != st.st_ino || e.pointee.d_type != type {
            bad.append("\(name): d_ino \(e.pointee.d_ino) d_type \(e.pointee.d_type), lstat ino \(st.st_ino) type \(type)")
        }
    }
    if names == 0 { bad.append("no entries listed") }
    return bad
}

/// The number after "readdirplus entries held by the kernel " in the status line (-1 if absent).
private func heldEntries(_ m: ShiftMount) -> Int {
    let line = statusLine(m)
    guard let r = line.range(of: "readdirplus entries held by the kernel ") else { return -1 }
    return Int(line[r.upperBound...].prefix { $0.isNumber }) ?? -1
}
