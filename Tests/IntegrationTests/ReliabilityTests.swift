// Reliability on real mounts: ENOSPC on a small upper, hostile layers with a canary outside
// them, permissions with read-only lowers, memory after the kernel forgets, and kill -9 crashes.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Mounts a tmpfs of `size` at `dir` for the duration of `body`; always unmounts.
func withTmpfs<T>(_ dir: String, size: String, _ body: () throws -> T) throws -> T {
    let r = run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", dir], timeout: 20)
    guard r.ok else { throw HarnessError("mount tmpfs at \(dir): \(r)") }
    defer {
        if !run(["/bin/umount", dir], timeout: 30).ok { _ = run(["/bin/umount", "-l", dir], timeout: 10) }
    }
    return try body()
}

/// sha256 of one file ("" if unreadable).
func sha256(_ path: String) -> String {
    let r = run(["sha256sum", path], timeout: 120)
    return r.ok ? String(r.stdout.prefix(64)) : ""
}

/// VmRSS of `pid` in KiB.
func rssKiB(_ pid: pid_t) -> Int {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

/// Asks the daemon for its status line (SIGUSR1) and returns it ("" if none came).
func statusLine(_ m: ShiftMount) -> String {
    let before = m.log.components(separatedBy: "status: ").count
    kill(m.pid, SIGUSR1)
    let deadline = Date().addingTimeInterval(5)
    while m.log.components(separatedBy: "status: ").count == before && Date() < deadline { usleep(20_000) }
    guard let last = m.log.components(separatedBy: "status: ").dropFirst().last else { return "" }
    return String(last.prefix { $0 != "\n" })
}

/// The node count the daemon's status line reports.
func nodeCount(_ m: ShiftMount) -> Int {
    let line = statusLine(m)
    guard line.hasPrefix("nodes "), let n = Int(line.dropFirst(6).prefix { $0.isNumber }) else { return -1 }
    return n
}

/// Runs `script` as uid/gid 1000 with no supplementary groups.
func asUser(_ script: String, cwd: String) -> RunResult {
    run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "/bin/sh", "-c", script], cwd: cwd, timeout: 30)
}

extension Integration {
    @Suite struct Reliability {
        // MARK: ENOSPC

        /// An 8 MiB tmpfs as upper and work: writing until full reports ENOSPC to the writer,
        /// keeps what is stored, keeps serving, and works again after deleting; a copy-up bigger
        /// than the free space fails with ENOSPC leaving no partial file and nothing in work.
        @Test func enospcOnSmallUpper() throws {
            let s = try Scratch("enospc")
            defer { s.remove() }
            let lower = try s.dir("lower")
            sh("head -c 12M /dev/urandom > big && echo small > small", cwd: lower)
            let small = try s.dir("small")
            try withTmpfs(small, size: "8m") {
                let upper = try s.dir("small/upper")
                let work = try s.dir("small/work")
                try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m in
                    let mnt = m.mountpoint
                    sh("head -c 1M /dev/urandom > keep", cwd: mnt)
                    let keep = sha256(mnt + "/keep")
                    let fill = run(
                        ["/bin/sh", "-c", "dd if=/dev/zero of=fill bs=64k count=400 conv=fsync 2>&1"], cwd: mnt, timeout: 60)
                    #expect(!fill.ok, "writing 25 MiB into 8 MiB succeeded: \(fill)")
                    #expect(fill.stdout.contains("No space left"), "\(fill)")
                    #expect(sha256(mnt + "/keep") == keep, "a stored file changed when the upper filled up")
                    #expect(read(mnt + "/small") == "small\n")
                    #expect(run(["ls", "-la", mnt]).ok, "the daemon stopped serving")
                    #expect(run(["rm", "-f", mnt + "/fill"]).ok)
                    sh("head -c 2M /dev/zero > again && sync again", cwd: mnt)
                    #expect(lstatPath(mnt + "/again")?.st_size == 2 << 20)
                    // Copy-up of a 12 MiB lower file into ~5 MiB of free space.
                    let cu = run(["/bin/sh", "-c", "echo more >> big"], cwd: mnt)
                    #expect(!cu.ok && cu.stderr.contains("No space left"), "copy-up into a full upper: \(cu)")
                    #expect(sha256(mnt + "/big") == sha256(lower + "/big"), "the lower file changed as seen")
                    #expect(lstatPath(upper + "/big") == nil, "a partial copy-up is in the upper")
                    #expect(listDir(work + "/work") == [], "work holds \(listDir(work + "/work") ?? [])")
                    #expect(sha256(mnt + "/keep") == keep)
                    #expect(run(["/bin/sh", "-c", "echo works > after"], cwd: mnt).ok, "no writes after a failed copy-up")
                }
            }
        }

        // MARK: Hostile layers

        /// Layers holding absolute and `..` symlinks, symlink chains, a symlink where another
        /// layer has a directory, long names and paths, newlines and non-UTF-8 bytes in names,
        /// device nodes; a lower replaced under the mount. A canary next to the layers (reachable
        /// by following the layers' symlinks from inside a layer, not from the mount) is never
        /// read or changed, and each operation ends as it does on kernel overlayfs.
        @Test func hostileLayersNeverEscape() throws {
            let s = try Scratch("hostile")
            defer { s.remove() }
            let layers = try s.dir("layers")
            let canary = try s.dir("layers/canarydir")
            try write(canary + "/f", "CANARY\n")
            // atime older than mtime: any read would move atime (relatime).
            sh("touch -a -d '2000-01-01' f && touch -m -d '2001-01-01' f && touch -d '2001-01-01' .", cwd: canary)
            let canaryBefore = run(["stat", "-c", "%X %Y %Z %s", canary + "/f", canary]).stdout
            let longName = String(repeating: "L", count: 255)
            let deep = (0..<14).map { "\($0)" + String(repeating: "d", count: 200) }.joined(separator: "/")
            func build(_ root: String) throws {
                let (top, bottom, upper) = (root + "/top", root + "/bottom", root + "/upper")
                for d in [top, bottom, upper] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
                sh(
                    """
                    ln -s \(canary)/f abs
                    ln -s ../../../../../../../../../../canarydir/f up
                    ln -s c2 c1 && ln -s ../canarydir c2
                    ln -s ../canarydir b
                    echo long > \(longName)
                    mkdir -p \(deep) && echo deep > \(deep)/file
                    printf 'nl\\n' > "$(printf 'new\\nline')"
                    printf 'bad\\n' > "$(printf 'bad\\377\\376')"
                    mknod null c 1 3 && mkfifo fifo
                    echo 'lower late' > late
                    """, cwd: top)
                sh("mkdir a b && echo 'lower a' > a/f && echo 'lower b' > b/f && echo d > dirfile", cwd: bottom)
                sh("ln -s ../canarydir a && ln -s ../canarydir dirfile2", cwd: upper)
            }
            let ops: [String] = [
                "readlink abs", "readlink up", "cat up", "cat c1/f", "cat a/f", "cat b/f", "ls a/", "touch a/new",
                "touch b/new", "mkdir -p a/x", "cat \(longName)", "echo more >> \(longName)", "mv \(longName) short",
                "cat \(deep)/file", "echo x >> \(deep)/file", "chmod 700 \(deep)", "mv \(deep.prefix(201)) moved",
                "cat \"$(printf 'new\\nline')\"", "echo y >> \"$(printf 'bad\\377\\376')\"",
                "mv \"$(printf 'bad\\377\\376')\" \"$(printf 'b\\nd\\377')\"", "stat -c %t,%T null", "chmod 600 null",
                "rm fifo", "rm -rf a", "rm b", "ln -s /etc/passwd p && readlink p", "cat p > /dev/null",
                "rm -rf moved", "ls -R > /dev/null",
            ]
            func outcomes(_ mnt: String) -> [String] {
                ops.map { op in
                    let r = run(["/bin/bash", "-c", op], cwd: mnt, timeout: 30)
                    return "\(op.prefix(60)): \(r.status == 0 ? "ok" : "fail")"
                }
            }
            // The kernel on a copy of the layers, then shiftoverlay on the layers.
            let klayers = try s.dir("klayers")
            try build(klayers)
            let kernel = try withKernelOverlay(
                s, lowers: [klayers + "/top", klayers + "/bottom"], upper: klayers + "/upper"
            ) { mnt in (outcomes(mnt), try simpleListing(mnt)) }
            try build(layers)
            try withShiftoverlay(
                s, lowers: [layers + "/top", layers + "/bottom"], upper: layers + "/upper", work: try s.dir("layers/work")
            ) { m in
                let shift = outcomes(m.mountpoint)
                #expect(shift == kernel.0, "outcomes differ from kernel overlayfs")
                let listing = try simpleListing(m.mountpoint)
                #expect(listing == kernel.1, "the trees differ from kernel overlayfs")
                // A lower replaced under the mount: the daemon keeps its root descriptors.
                sh("mv top top.away && mkdir top && echo EVIL > top/late && ln -s / top/escape", cwd: layers)
                #expect(read(m.mountpoint + "/late") == "lower late\n", "the daemon followed the replaced lower")
                #expect(lstatPath(m.mountpoint + "/escape") == nil)
                #expect(run(["ls", "-la", m.mountpoint]).ok)
            }
            let canaryAfter = run(["stat", "-c", "%X %Y %Z %s", canary + "/f", canary]).stdout
            #expect(canaryAfter == canaryBefore, "the canary was touched: \(canaryBefore) -> \(canaryAfter)")
            #expect(read(canary + "/f") == "CANARY\n")
            #expect(listDir(canary) == ["f"])
        }

        // MARK: Permissions and read-only lowers

        /// Read-only bind mounts as lowers: a mixed workload never meets EROFS and the lowers stay
        /// as they were; as uid 1000 modes are enforced before and after copy-up, and a write by
        /// a non-owner clears setuid/setgid, as on kernel overlayfs.
        @Test func permissionsWithReadOnlyLowers() throws {
            let s = try Scratch("perm")
            defer { s.remove() }
            let lower = try s.dir("lower")
            sh(
                """
                echo secret > secret && chmod 600 secret
                echo pub > pub && chmod 644 pub
                mkdir dir && echo x > dir/x && chmod 755 dir
                mkdir open && chmod 777 open && echo y > open/y
                echo s > suid && chmod 6777 suid
                mkdir -p tree/a/b && for i in 1 2 3 4 5; do echo $i > tree/a/b/f$i; echo $i > tree/g$i; done
                echo data > data && setfattr -n user.k -v v data
                """, cwd: lower)
            let ro = try s.dir("lower-ro")
            try #require(run(["/bin/mount", "--bind", lower, ro]).ok)
            defer { if !run(["/bin/umount", ro]).ok { _ = run(["/bin/umount", "-l", ro]) } }
            try #require(run(["/bin/mount", "-o", "remount,bind,ro", ro]).ok)
            try #require(!run(["touch", ro + "/probe"]).ok, "the bind mount is writable")
            let lowerBefore = try treeListing(lower) + (try contentHashes(lower)) + (try xattrListing(lower))
            let userScript = """
                r() { if sh -c "$1" >/dev/null 2>&1; then echo "$1: ok"; else echo "$1: denied"; fi; }
                r 'cat secret'; r 'echo w >> pub'; r 'rm dir/x'; r 'rm open/y'; r 'echo w >> suid'
                r 'stat -c %a suid'; echo "mode $(stat -c %a suid)"; r 'mkdir dir/n'; r 'mv pub open/'
                """
            let workload = """
                set -e
                echo more >> data; cat data > /dev/null; mv tree/g1 tree/h1; rm tree/g2; rm -rf tree/a
                mkdir -p new/deep && cp pub new/deep/ && ln data hard && chmod 640 hard && chown 12:34 tree/g3
                setfattr -n user.n -v 1 tree/g4 && truncate -s 1 tree/g5 && touch -d 2001-01-01 dir
                mv dir dir2 2>/dev/null || true
                """
            func check(_ mnt: String) -> [String] {
                var out = asUser(userScript, cwd: mnt).stdout.split(separator: "\n").map(String.init)
                // Root touches the files (copy-up keeping the modes); the user is refused the same.
                sh("touch secret pub dir/x", cwd: mnt)
                out += asUser("r() { if sh -c \"$1\" >/dev/null 2>&1; then echo \"after copy-up $1: ok\"; else echo \"after copy-up $1: denied\"; fi; }; r 'cat secret'; r 'echo w >> pub'; r 'rm dir/x'", cwd: mnt)
                    .stdout.split(separator: "\n").map(String.init)
                let w = run(["/bin/bash", "-c", workload], cwd: mnt)
                out.append("workload: \(w.ok ? "ok" : "failed: \(w.stderr)")")
                return out
            }
            let kernel = try withKernelOverlay(s, lowers: [ro], upper: try s.dir("kupper")) { check($0) }
            #expect(kernel.contains("workload: ok"), "\(kernel)")
            try withShiftoverlay(s, lowers: [ro], upper: try s.dir("upper"), work: try s.dir("work")) { m in
                let shift = check(m.mountpoint)
                #expect(shift == kernel, "permission outcomes differ from kernel overlayfs")
                #expect(!m.log.contains("Read-only"), "daemon log: \(m.log)")
            }
            let lowerAfter = try treeListing(lower) + (try contentHashes(lower)) + (try xattrListing(lower))
            #expect(lowerAfter == lowerBefore, "a lower layer changed")
        }

        // MARK: Memory

        /// Walk 200k files, let the kernel forget them (drop_caches): the node table and RSS
        /// come back near their start.
        @Test func memoryReturnsAfterTheKernelForgets() throws {
            let s = try Scratch("mem")
            defer { s.remove() }
            let lower = try s.dir("lower")
            try withTmpfs(lower, size: "512m") {
                let gen = run(
                    ["/bin/bash", "-c", "for d in $(seq 1 400); do mkdir d$d && (cd d$d && touch $(seq 1 500)); done"],
                    cwd: lower, timeout: 120)
                try #require(gen.ok, "\(gen)")
                try withShiftoverlay(s, lowers: [lower], upper: try s.dir("upper"), work: try s.dir("work")) { m in
                    let rss0 = rssKiB(m.pid)
                    let nodes0 = nodeCount(m)
                    let walk = run(["/bin/sh", "-c", "find . -printf '%s\\n' | wc -l"], cwd: m.mountpoint, timeout: 120)
                    #expect(walk.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200401")
                    let rss1 = rssKiB(m.pid)
                    let nodes1 = nodeCount(m)
                    var nodes2 = nodes1
                    // The kernel sends FORGETs as it evicts inodes; on a loaded machine that can
                    // take several passes (directories with cached listings need echo 3).
                    for _ in 0..<20 where nodes2 > nodes0 + 1000 {
                        _ = run(["/bin/sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches"])
                        usleep(500_000)
                        nodes2 = nodeCount(m)
                    }
                    let rss2 = rssKiB(m.pid)
                    print("memory: 200000 files: RSS \(rss0) KiB -> \(rss1) KiB after the walk -> \(rss2) KiB after forget; nodes \(nodes0) -> \(nodes1) -> \(nodes2)")
                    // (The kernel may already forget part of the walk under memory pressure.)
                    #expect(nodes1 > 10_000, "the walk did not reach the daemon's node table (\(nodes1))")
                    #expect(nodes2 <= nodes0 + 1000, "nodes not forgotten: \(nodes2)")
                    #expect(rss2 <= rss0 + max(64 * 1024, (rss1 - rss0) / 2), "RSS did not come back: \(rss0) -> \(rss1) -> \(rss2) KiB")
                }
            }
        }

        // MARK: Crashes

        /// kill -9 of the daemon during a big copy-up (append), a rename of a big lower file, a
        /// directory-chain copy-up, and whiteout creation (rm -rf), each with several delays;
        /// after a lazy unmount and a remount: work is empty, no file is partial, and kernel
        /// overlayfs on the same upper shows the same tree.
        @Test func killDuringMutationsLeavesOldOrNew() throws {
            let s = try Scratch("crash")
            defer { s.remove() }
            let area = try s.dir("area")
            try withTmpfs(area, size: "2g") {
                let lower = try s.dir("area/lower")
                let upper = try s.dir("area/upper")
                let work = try s.dir("area/work")
                let size = 512 << 20
                sh(
                    """
                    head -c \(size) /dev/urandom > big
                    mkdir -p c/1/2/3/4/5/6/7/8/9 && echo leaf > c/1/2/3/4/5/6/7/8/9/leaf
                    for d in $(seq 1 20); do mkdir -p tree/$d; for f in $(seq 1 50); do echo $d.$f > tree/$d/$f; done; done
                    """, cwd: lower)
                let scenarios: [(name: String, script: String)] = [
                    ("append", "echo tail >> big"),
                    ("rename", "mv big big2"),
                    ("dir copy-up", "chmod 700 c/1/2/3/4/5/6/7/8/9 && chmod 700 c/1/2/3/4/5/6/7/8"),
                    ("whiteouts", "rm -rf tree"),
                ]
                var crashes = 0
                for (name, script) in scenarios {
                    // Big-file scenarios at three points of the copy, the others at two.
                    let delays: [useconds_t] = name == "append" || name == "rename" ? [20_000, 120_000, 400_000] : [10_000, 60_000]
                    for delay in delays {
                        sh("rm -rf upper/* upper/.[!.]* work/* 2>/dev/null; true", cwd: area)
                        let mnt = try s.dir("mnt-\(crashes)")
                        let m = try ShiftMount(
                            args: ["-o", overlayOptions(lowers: [lower], upper: upper, work: work)], mountpoint: mnt,
                            logPath: s.root + "/crash-\(crashes).log")
                        let worker = try Child(
                            ["/usr/bin/env", "-C", mnt, "/bin/sh", "-c", script], stdout: "/dev/null", stderr: "/dev/null")
                        usleep(delay)
                        kill(m.pid, SIGKILL)
                        m.stop()
                        worker.terminate(grace: 1)
                        crashes += 1
                        let label = "\(name), kill after \(delay / 1000) ms"
                        // Remount: work is emptied, nothing partial is visible.
                        try withShiftoverlay(s, lowers: [lower], upper: upper, work: work) { m2 in
                            let v = m2.mountpoint
                            #expect(listDir(work + "/work") == [], "\(label): work holds \(listDir(work + "/work") ?? [])")
                            for f in ["big", "big2"] {
                                guard let st = lstatPath(v + "/" + f) else { continue }
                                #expect(st.st_size == size || st.st_size == size + 5, "\(label): \(f) has size \(st.st_size)")
                                #expect(run(["cmp", "-n", "\(size)", v + "/" + f, lower + "/big"], timeout: 60).ok,
                                        "\(label): \(f) is not the lower content")
                            }
                            #expect(lstatPath(v + "/big") != nil || lstatPath(v + "/big2") != nil, "\(label): big lost")
                            #expect(read(v + "/c/1/2/3/4/5/6/7/8/9/leaf") == "leaf\n", "\(label): leaf")
                            let files = run(["/bin/sh", "-c", "cd tree 2>/dev/null && for f in */*; do [ \"$(cat $f)\" = \"$(echo $f | tr / .)\" ] || echo bad $f; done; true"], cwd: v)
                            #expect(files.stdout.isEmpty, "\(label): \(files.stdout)")
                            let shown = try simpleListing(v)
                            m2.unmount()
                            // The kernel's workdir must be on the upper's filesystem.
                            sh("rm -rf kwork && mkdir kwork", cwd: area)
                            let kmnt = try s.dir("kmnt-\(crashes)")
                            let opts = overlayOptions(lowers: [lower], upper: upper, work: area + "/kwork")
                            let k = run(["/bin/mount", "-t", "overlay", "overlay", "-o", opts, kmnt], timeout: 30)
                            #expect(k.ok, "\(label): kernel overlay mount: \(k)")
                            if k.ok {
                                let kernel = try? simpleListing(kmnt)
                                if !run(["/bin/umount", kmnt], timeout: 30).ok { _ = run(["/bin/umount", "-l", kmnt]) }
                                #expect(shown == kernel, "\(label): kernel overlayfs sees another tree")
                            }
                        }
                    }
                }
                print("crash tests: \(crashes) kill -9 runs")
            }
        }
    }
}
