import Glibc

/// What a workload sees: the merged directory of a fresh mount over a fresh upper.
struct Context {
    let merged: String
    let upper: String
    let layers: Layers
    let sizes: Sizes
    let scratch: String
    let haveFio: Bool

    func path(_ rel: String) -> String { merged + "/" + rel }
}

/// One workload. `prepareUpper` runs before mounting (on the upper directory), `prepare` on the mount
/// (untimed); caches are dropped right before `body` when `cold` (before the mount for `mount`).
struct Workload {
    let name: String
    var cold = false
    var inQuick = true
    var isMount = false
    var prepareUpper: (Context) throws -> Void = { _ in }
    var prepare: (Context) throws -> Void = { _ in }
    var body: (Context) throws -> Void = { _ in }
}

/// tar of the merged tree without the big data files; to a pipe (GNU tar skips reading files when
/// the archive is /dev/null).
private func tarTree(_ c: Context) throws {
    try sh("tar -C '\(c.merged)' --exclude=./bench/data -cf - . | cat > /dev/null")
}

/// lstat of every path of the bottom layer through the mount (whited-out ones answer ENOENT).
private func statAll(_ c: Context) throws {
    var st = stat()
    var found = 0
    for e in c.layers.bottomEntries where lstat(c.path(e.path), &st) == 0 { found += 1 }
    if found < c.layers.bottomEntries.count / 2 { throw BenchError("stat: only \(found) paths found") }
}

/// Appends a line to every regular file of the copy-up subtree (each one is copied up).
private func appendAll(_ c: Context) throws {
    let prefix = c.layers.copyUpDir + "/"
    let line = Array("appended\n".utf8)
    for e in c.layers.bottomEntries where e.type == "f" && e.path.hasPrefix(prefix) {
        let fd = open(c.path(e.path), O_WRONLY | O_APPEND)
        if fd < 0 {
            if errno == ENOENT { continue }  // whited out in the top layer
            throw BenchError("open \(e.path) for append: \(errnoText())")
        }
        let n = write(fd, line, line.count)
        close(fd)
        if n != line.count { throw BenchError("append to \(e.path): \(errnoText())") }
    }
}

private func fio(_ c: Context, rw: String, file: String, sizeMiB: Int) throws {
    guard c.haveFio else { throw BenchError("fio is not installed") }
    try run(["fio", "--name=\(rw)", "--filename=\(file)", "--rw=\(rw)", "--bs=4k", "--size=\(sizeMiB)M",
             "--io_size=\(c.sizes.randIOMiB)M", "--ioengine=psync", "--invalidate=0", "--randrepeat=1",
             "--output=/dev/null"] + (rw == "randread" ? ["--readonly"] : []))
}

/// Loads gcc, cc1, as and ld into the page cache (earlier cold workloads dropped them).
private func warmCompiler(_ c: Context) throws {
    let src = c.scratch + "/warm.c"
    try writeFile(src, "int main(void) { return 0; }\n")
    try run(["gcc", "-O2", "-o", c.scratch + "/warm", src])
    try run(["make", "--version"])
}

func allWorkloads() -> [Workload] {
    let find: (Context) throws -> Void = { c in try run(["find", c.merged]) }
    let lsR: (Context) throws -> Void = { c in try run(["ls", "-lR", c.merged]) }
    return [
        Workload(name: "mount", cold: true, isMount: true),
        Workload(name: "find (cold)", cold: true, body: find),
        Workload(name: "find (warm)", prepare: find, body: find),
        Workload(name: "ls -lR (cold)", cold: true, body: lsR),
        Workload(name: "ls -lR (warm)", inQuick: false, prepare: lsR, body: lsR),
        Workload(name: "stat all (cold)", cold: true, inQuick: false, body: statAll),
        Workload(name: "stat all (warm)", prepare: statAll, body: statAll),
        Workload(name: "tar (cold)", cold: true, body: tarTree),
        Workload(name: "tar (warm)", inQuick: false, prepare: tarTree, body: tarTree),
        Workload(name: "untar small files", body: { c in try run(["tar", "-C", c.merged, "-xf", c.layers.tarball]) }),
        Workload(name: "rm -rf new files",
                 prepare: { c in try run(["tar", "-C", c.merged, "-xf", c.layers.tarball]) },
                 body: { c in try run(["rm", "-rf", c.path("untar")]) }),
        Workload(name: "chown -R (copy-up)", body: { c in try run(["chown", "-R", "1234:1234", c.path(c.layers.copyUpDir)]) }),
        Workload(name: "append (copy-up)", body: appendAll),
        Workload(name: "rm -rf lower tree", body: { c in try run(["rm", "-rf", c.path(c.layers.rmDir)]) }),
        Workload(name: "find after rm -rf",
                 prepare: { c in try run(["rm", "-rf", c.path(c.layers.rmDir)]) }, body: find),
        Workload(name: "seq write", body: { c in
            try run(["dd", "if=/dev/zero", "of=\(c.path("seq-write.dat"))", "bs=1M", "count=\(c.sizes.seqMiB)", "status=none"])
        }),
        Workload(name: "seq read (cold)", cold: true, body: { c in
            try run(["dd", "if=\(c.path(Layers.seqFile))", "of=/dev/null", "bs=1M", "status=none"])
        }),
        Workload(name: "rand 4k read (cold)", cold: true,
                 body: { c in try fio(c, rw: "randread", file: c.path(Layers.randFile), sizeMiB: c.sizes.randMiB) }),
        Workload(name: "rand 4k write",
                 prepareUpper: { c in
                     try run(["dd", "if=/dev/zero", "of=\(c.upper)/rand-write.dat", "bs=1M", "count=\(c.sizes.randMiB)",
                              "status=none"])
                 },
                 body: { c in try fio(c, rw: "randwrite", file: c.path("rand-write.dat"), sizeMiB: c.sizes.randMiB) }),
        Workload(name: "git status", prepare: { c in try run(["git", "-C", c.path(Layers.gitDir), "status"]) },
                 body: { c in try run(["git", "-C", c.path(Layers.gitDir), "status"]) }),
        Workload(name: "git log --stat (cold)", cold: true, inQuick: false,
                 body: { c in try run(["git", "-C", c.path(Layers.gitDir), "log", "--stat"]) }),
        Workload(name: "make -j2", prepare: warmCompiler,
                 body: { c in try run(["make", "-s", "-j2", "-C", c.path(Layers.cDir)]) }),
    ]
}
