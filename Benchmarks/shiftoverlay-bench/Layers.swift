import Glibc

/// Sizes of the generated data, per mode.
struct Sizes {
    let quickEntries: Int?  // quick mode: copy only this many entries of the root filesystem
    let seqMiB: Int  // sequential write/read file
    let randMiB: Int  // random read/write file
    let randIOMiB: Int  // bytes moved by each random 4k workload
    let gitFiles: Int
    let gitCommits: Int
    let cFiles: Int
    let untarFiles: Int

    static let full = Sizes(quickEntries: nil, seqMiB: 1024, randMiB: 256, randIOMiB: 32, gitFiles: 3000,
                            gitCommits: 1500, cFiles: 40, untarFiles: 5000)
    static let quick = Sizes(quickEntries: 4000, seqMiB: 128, randMiB: 64, randIOMiB: 8, gitFiles: 500,
                             gitCommits: 200, cFiles: 12, untarFiles: 1000)
}

/// The layers every system mounts: `bottom` (a root filesystem) under `top` (generated: overrides,
/// whiteouts, a git repository, a C project, the data files), plus what the workloads aim at.
struct Layers {
    let bottom: String
    let top: String
    let bottomEntries: [Entry]
    let tarball: String  // many small files, for untar
    let copyUpDir: String  // lower subtree for chown -R / append (relative)
    let rmDir: String  // large lower subtree for rm -rf (relative)
    let notes: [String]

    var lowers: [String] { [top, bottom] }  // leftmost is the top layer
    static let seqFile = "bench/data/seq.dat"
    static let randFile = "bench/data/rand.dat"
    static let gitDir = "bench/git"
    static let cDir = "bench/cproj"
    static let version = "v1"

    static func prepare(cache: String, rootfs: String?, quick: Bool, sizes: Sizes, scratch: String) throws -> Layers {
        try makeDirs(cache)
        var notes: [String] = []
        var source: String
        if let r = rootfs {
            source = r
            notes.append("bottom layer: \(r) (--rootfs)")
        } else if isDirectory(cache + "/rootfs") {
            source = cache + "/rootfs"
            notes.append("bottom layer: debootstrap --variant=minbase --include=\(includes) bookworm (cached in \(source))")
        } else if !quick, let built = try? debootstrap(cache: cache) {
            source = built
            notes.append("bottom layer: debootstrap --variant=minbase --include=\(includes) bookworm (built now, cached in \(source))")
        } else {
            source = try hostUsrCopy(cache: cache, scratch: scratch)
            notes.append(quick ? "bottom layer: subset of the host's /usr (no cached debootstrap root; quick mode does not build one)"
                : "bottom layer: subset of the host's /usr (debootstrap FAILED, see \(cache)/debootstrap.log)")
        }
        var bottom = source
        if let n = sizes.quickEntries {
            bottom = try subsetCopy(of: source, entries: n, cache: cache, scratch: scratch)
            notes.append("quick mode: first \(n) entries of that tree")
        }
        let entries = try listTree(bottom, scratch: scratch)
        let top = try generateTop(cache: cache, bottom: bottom, entries: entries, quick: quick, sizes: sizes,
                                  scratch: scratch)
        let tarball = try untarBall(cache: cache, files: sizes.untarFiles)
        let total = entries.count
        let copyUp = pickDir(entries, target: min(2000, total / 8), maxBytes: 40 << 20)
        let rm = pickDir(entries, target: total / 4, maxBytes: Int.max)
        notes.append("bottom \(total) entries, top lower \(top); copy-up subtree \(copyUp.path) (\(copyUp.count) entries), rm -rf subtree \(rm.path) (\(rm.count) entries)")
        return Layers(bottom: bottom, top: top, bottomEntries: entries, tarball: tarball, copyUpDir: copyUp.path,
                      rmDir: rm.path, notes: notes)
    }

    /// minbase alone is ~6.8k entries; a build image (gcc, make, git, python3) is ~15-20k.
    static let includes = "gcc,make,git,python3"

    /// debootstrap into the cache (once); the mirror comes from /etc/apt/sources.list.d/*.sources.
    static func debootstrap(cache: String) throws -> String {
        let dest = cache + "/rootfs"
        let partial = cache + "/rootfs.partial"
        guard haveProgram("debootstrap") else { throw BenchError("debootstrap is not installed") }
        var mirror = "http://deb.debian.org/debian"
        if let text = try? readSources() {
            for line in text.split(separator: "\n") where line.hasPrefix("URIs:") {
                if let uri = line.split(separator: " ").dropFirst().first, !uri.contains("security") {
                    mirror = String(uri)
                    break
                }
            }
        }
        print("building the root filesystem once: debootstrap --variant=minbase --include=\(includes) bookworm \(partial) \(mirror)")
        try run(["rm", "-rf", partial])
        try run(["debootstrap", "--variant=minbase", "--include=\(includes)", "bookworm", partial, mirror], stdout: cache + "/debootstrap.log",
                timeout: 900)
        guard rename(partial, dest) == 0 else { throw BenchError("rename \(partial): \(errnoText())") }
        return dest
    }

    static func readSources() throws -> String {
        var text = ""
        guard let d = opendir("/etc/apt/sources.list.d") else { return "" }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".sources"), let t = readFile("/etc/apt/sources.list.d/" + name) { text += t + "\n" }
        }
        return text
    }

    /// Fallback bottom layer: the first 18000 entries of the host's /usr.
    static func hostUsrCopy(cache: String, scratch: String) throws -> String {
        let dest = cache + "/hostusr"
        if isDirectory(dest) { return dest }
        try copyEntries(from: "/", paths: "usr", limit: 18_000, to: dest, scratch: scratch)
        return dest
    }

    /// A copy of the first `entries` entries (find order: parents first) of `source`, cached.
    static func subsetCopy(of source: String, entries: Int, cache: String, scratch: String) throws -> String {
        let dest = cache + "/quick-\(entries)"
        let stamp = dest + ".stamp"
        let want = "\(version) \(source) \(entries)\n"
        if isDirectory(dest), readFile(stamp) == want { return dest }
        try copyEntries(from: source, paths: ".", limit: entries, to: dest, scratch: scratch)
        try writeFile(stamp, want)
        return dest
    }

    static func copyEntries(from root: String, paths: String, limit: Int, to dest: String, scratch: String) throws {
        try run(["rm", "-rf", dest, dest + ".partial"])
        try makeDirs(dest + ".partial")
        let list = scratch + "/copy-list.txt"
        try sh("cd '\(root)' && find \(paths) -xdev -mindepth 1 | head -n \(limit) > '\(list)'")
        try sh("tar -C '\(root)' --no-recursion -cf - -T '\(list)' | tar -C '\(dest).partial' -xf -")
        guard rename(dest + ".partial", dest) == 0 else { throw BenchError("rename \(dest): \(errnoText())") }
    }

    /// The directory (depth >= 2) whose entry count is nearest `target`, with regular-file bytes
    /// under `maxBytes`.
    static func pickDir(_ entries: [Entry], target: Int, maxBytes: Int) -> (path: String, count: Int) {
        var counts: [String: Int] = [:]
        var bytes: [String: Int] = [:]
        for e in entries {
            var p = Substring(e.path)
            while let i = p.lastIndex(of: "/") {
                p = p[..<i]
                counts[String(p), default: 0] += 1
                bytes[String(p), default: 0] += e.type == "f" ? e.size : 0
            }
        }
        var best = ("", 0)
        var bestDist = Int.max
        for (dir, n) in counts.sorted(by: { $0.key < $1.key })
        where dir.contains("/") && bytes[dir, default: 0] <= maxBytes && abs(n - target) < bestDist {
            best = (dir, n)
            bestDist = abs(n - target)
        }
        return best
    }

    /// The generated top lower: overrides of every 40th bottom file, whiteouts (char 0/0) of others
    /// and of one directory, a git repository, a C project and the data files. Cached.
    static func generateTop(cache: String, bottom: String, entries: [Entry], quick: Bool, sizes: Sizes,
                            scratch: String) throws -> String
    {
        let dest = cache + (quick ? "/top-quick" : "/top-full")
        let stamp = dest + ".stamp"
        let want = "\(version) \(bottom) \(entries.count) \(sizes) \(readFile(bottom + ".stamp") ?? "")\n"
        if isDirectory(dest), readFile(stamp) == want { return dest }
        print("generating the top lower layer in \(dest)")
        let out = dest + ".partial"
        try run(["rm", "-rf", dest, out])
        try makeDirs(out)
        let files = entries.filter { $0.type == "f" }
        for (i, e) in files.enumerated() where i % 40 == 0 || i % 40 == 20 {
            let path = out + "/" + e.path
            try makeDirs(dirname(path))
            if i % 40 == 0 {
                try writeFile(path, "override of \(e.path)\n")
            } else if mknod(path, S_IFCHR | 0o000, 0) != 0 {
                throw BenchError("mknod \(path): \(errnoText())")
            }
        }
        // One directory whiteout: a small directory of depth >= 3.
        let dir = pickDir(entries, target: 5, maxBytes: Int.max)
        if !dir.path.isEmpty {
            let path = out + "/" + dir.path
            try run(["rm", "-rf", path])
            try makeDirs(dirname(path))
            if mknod(path, S_IFCHR | 0o000, 0) != 0 { throw BenchError("mknod \(path): \(errnoText())") }
        }
        try makeDirs(out + "/bench/data")
        try run(["dd", "if=/dev/zero", "of=\(out)/\(seqFile)", "bs=1M", "count=\(sizes.seqMiB)", "status=none"])
        try run(["dd", "if=/dev/urandom", "of=\(out)/\(randFile)", "bs=1M", "count=\(sizes.randMiB)", "status=none"])
        try gitRepo(at: out + "/" + gitDir, files: sizes.gitFiles, commits: sizes.gitCommits, scratch: scratch)
        try cProject(at: out + "/" + cDir, files: sizes.cFiles)
        sync()
        guard rename(out, dest) == 0 else { throw BenchError("rename \(out): \(errnoText())") }
        try writeFile(stamp, want)
        return dest
    }

    /// A repository with `files` files and `commits` commits (git fast-import), checked out.
    static func gitRepo(at dir: String, files: Int, commits: Int, scratch: String) throws {
        try makeDirs(dir)
        try run(["git", "-C", dir, "init", "-q", "-b", "main"])
        var stream = ""
        func blob(_ text: String) { stream += "data \(text.utf8.count)\n\(text)\n" }
        func path(_ f: Int) -> String { "src/m\(f % 50)/file\(f).txt" }
        for c in 0..<commits {
            stream += "commit refs/heads/main\ncommitter Bench <bench@example.org> \(1_700_000_000 + c * 60) +0000\n"
            blob("commit \(c)\n")
            let touched = c == 0 ? Array(0..<files) : [(c * 7) % files, (c * 13 + 1) % files]
            for f in touched {
                stream += "M 100644 inline \(path(f))\n"
                var text = ""
                for l in 0..<8 { text += "file \(f) line \(l) revision \(c)\n" }
                blob(text)
            }
        }
        let streamFile = scratch + "/fast-import.txt"
        try writeFile(streamFile, stream)
        try run(["git", "-C", dir, "fast-import", "--quiet"], stdin: streamFile)
        try run(["git", "-C", dir, "reset", "-q", "--hard", "main"])
        unlink(streamFile)
    }

    /// A small C project: `files` translation units and a Makefile.
    static func cProject(at dir: String, files: Int) throws {
        try makeDirs(dir)
        try writeFile(dir + "/common.h", "#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\nint f_sum(int);\n")
        var main = "#include \"common.h\"\n"
        for i in 0..<files { main += "int unit\(i)(int);\n" }
        main += "int main(void) { int s = 0;\n"
        for i in 0..<files { main += "    s += unit\(i)(\(i));\n" }
        main += "    printf(\"%d\\n\", s); return 0; }\n"
        try writeFile(dir + "/main.c", main)
        for i in 0..<files {
            var src = "#include \"common.h\"\n"
            for k in 0..<30 {
                src += """
                    static int helper\(k)(int x) {
                        char buf[64]; snprintf(buf, sizeof buf, "%d-\(k)", x * \(k + 1));
                        int h = 0; for (size_t j = 0; j < strlen(buf); j++) h = h * 31 + buf[j];
                        return h ^ (x << \(k % 7));
                    }

                    """
            }
            src += "int unit\(i)(int x) { int s = 0;\n"
            for k in 0..<30 { src += "    s += helper\(k)(x + \(k));\n" }
            src += "    return s; }\n"
            try writeFile(dir + "/unit\(i).c", src)
        }
        try writeFile(dir + "/Makefile", """
            SRCS := $(wildcard *.c)
            OBJS := $(SRCS:.c=.o)
            prog: $(OBJS)
            \t$(CC) -o $@ $^
            %.o: %.c common.h
            \t$(CC) -O2 -c -o $@ $<

            """)
    }

    /// A tarball of `files` small files (100 B - 4 KiB) in 50 directories under `untar/`. Cached.
    static func untarBall(cache: String, files: Int) throws -> String {
        let tarball = cache + "/untar-\(files).tar"
        if exists(tarball) { return tarball }
        let src = cache + "/untar-src"
        try run(["rm", "-rf", src])
        for i in 0..<files {
            let dir = "\(src)/untar/d\(i % 50)"
            if i < 50 { try makeDirs(dir) }
            try writeFile("\(dir)/f\(i).txt", String(repeating: "x", count: 100 + (i * 997) % 4000))
        }
        try run(["tar", "-C", src, "-cf", tarball + ".partial", "untar"])
        try run(["rm", "-rf", src])
        guard rename(tarball + ".partial", tarball) == 0 else { throw BenchError("rename \(tarball): \(errnoText())") }
        return tarball
    }
}
