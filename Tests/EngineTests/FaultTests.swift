import LayerAPI
import MemoryLayer
import OverlayEngine
import Testing

/// Every mutating engine operation, with each errno injected on the N-th upper (or lower) layer
/// call for N = 0, 1, … until the operation no longer meets a fault: a failed operation returns
/// the injected errno, leaves the visible tree exactly as it was and the work directory empty,
/// and the engine keeps serving (the same operation then succeeds).
@Suite struct FaultTests {
    static let errnos: [Errno] = [.EIO, .ENOSPC, .EDQUOT, .EACCES, .EROFS]

    /// The layers every case starts from: lower-only files, directories and a deep chain, upper
    /// files, a whiteout, a file in both, merged directories (empty and not).
    static func fixture(redirectDir: Bool = false) throws -> Fixture {
        var options = EngineOptions()
        if redirectDir { options.redirectDir = .on }
        return try Fixture(options: options) { b in
            let lo = b.lowers[0]
            guard let up = b.upper else { throw Errno.EIO }
            try b.file(lo, "d1/d2/deep", "deep data", mode: 0o640, uid: 5, gid: 6)
            try lo.setXattr(.tree(RelPath("d1/d2/deep")), Array("user.k".utf8), Array("v".utf8), flags: [])
            try b.file(lo, "d1/sib", "sibling")
            try b.file(lo, "f", "lower f")
            try b.file(lo, "g", "lower g")
            try b.file(lo, "cov", "lower cov")
            try b.file(lo, "gone", "lower gone")
            try b.file(lo, "ld/x", "lower x")
            try b.dirs(lo, "empty")
            try b.dirs(lo, "me")
            try lo.symlink(.tree(RelPath("ln")), target: Array("f".utf8))
            try b.file(up, "u", "upper u", uid: 7, gid: 7)
            try b.file(up, "cov", "upper cov")
            try b.file(up, "ud/y", "upper y")
            try b.dirs(up, "uempty")
            try b.dirs(up, "me")
            try b.file(up, "ld/z", "upper z")
            try b.whiteout(up, "gone")
        }
    }

    /// One operation: resolves what it needs, calls `arm` (faults count from there), then makes
    /// the engine call(s) under test.
    struct Case: Sendable {
        let name: String
        /// Runs with redirect_dir=on.
        var redirectDir = false
        let run: @Sendable (Fixture, () -> Void) throws -> Void
    }

    static func n(_ s: String) -> Name { Name(validated: Array(s.utf8)) }
    static func nm(_ s: String) -> Name { n(s) }

    static let cases: [Case] = {
        var c: [Case] = []
        func named(_ name: String, redirectDir: Bool = false, _ run: @escaping @Sendable (Fixture, () -> Void) throws -> Void) {
            c.append(Case(name: name, redirectDir: redirectDir, run: run))
        }
        func create(_ dir: String, _ name: String) -> @Sendable (Fixture, () -> Void) throws -> Void {
            { f, arm in
                let p = try f.node(dir)
                arm()
                let (_, h) = try f.fs.create(parent: p, name: FaultTests.n(name), mode: 0o644, flags: .writeOnly, caller: .root)
                f.fs.release(h)
            }
        }
        named("create in lower dir chain", create("d1/d2", "new"))
        named("create over whiteout", create("", "gone"))
        named("mkdir in lower dir") { f, arm in
            let p = try f.node("d1")
            arm()
            _ = try f.fs.mkdir(parent: p, name: FaultTests.n("nd"), mode: 0o755, caller: .root)
        }
        named("mkdir over whiteout") { f, arm in
            arm()
            _ = try f.fs.mkdir(parent: 1, name: FaultTests.n("gone"), mode: 0o755, caller: .root)
        }
        named("mknod fifo") { f, arm in
            let p = try f.node("d1/d2")
            arm()
            _ = try f.fs.mknod(parent: p, name: FaultTests.n("fifo"), mode: FileType.fifo.modeBits | 0o644, rdev: 0, caller: .root)
        }
        named("symlink") { f, arm in
            let p = try f.node("d1")
            arm()
            _ = try f.fs.symlink(parent: p, name: FaultTests.n("sl"), target: Array("../f".utf8), caller: .root)
        }
        named("link lower file") { f, arm in
            let src = try f.node("d1/d2/deep")
            let p = try f.node("d1")
            arm()
            _ = try f.fs.link(src, newParent: p, newName: FaultTests.n("hard"), caller: .root)
        }
        named("link upper file") { f, arm in
            let src = try f.node("u")
            arm()
            _ = try f.fs.link(src, newParent: 1, newName: FaultTests.n("u2"), caller: .root)
        }
        func unlink(_ dir: String, _ name: String) -> @Sendable (Fixture, () -> Void) throws -> Void {
            { f, arm in
                let p = try f.node(dir)
                arm()
                try f.fs.unlink(parent: p, name: FaultTests.n(name))
            }
        }
        named("unlink lower file", unlink("", "f"))
        named("unlink upper-only file", unlink("", "u"))
        named("unlink upper file over lower", unlink("", "cov"))
        named("unlink lower symlink", unlink("", "ln"))
        func rmdir(_ name: String) -> @Sendable (Fixture, () -> Void) throws -> Void {
            { f, arm in
                arm()
                try f.fs.rmdir(parent: 1, name: FaultTests.n(name))
            }
        }
        named("rmdir lower dir", rmdir("empty"))
        named("rmdir upper-only dir", rmdir("uempty"))
        named("rmdir merged dir", rmdir("me"))
        func rename(_ a: String, _ b: String, _ flags: RenameFlags = []) -> @Sendable (Fixture, () -> Void) throws -> Void {
            { f, arm in
                let (p1, n1) = try f.parentAndName(a)
                let (p2, n2) = try f.parentAndName(b)
                arm()
                try f.fs.rename(parent: p1, name: n1, newParent: p2, newName: n2, flags: flags)
            }
        }
        named("rename upper file", rename("u", "u3"))
        named("rename lower file", rename("f", "f3"))
        named("rename deep lower file into lower dir", rename("d1/d2/deep", "ld/moved"))
        named("rename upper over lower file", rename("u", "g"))
        named("rename upper over covering file", rename("u", "cov"))
        named("rename lower over upper file", rename("g", "u"))
        named("rename onto whiteout", rename("u", "gone"))
        named("rename noReplace", rename("f", "fresh", .noReplace))
        named("rename exchange", rename("u", "cov", .exchange))
        named("rename exchange lower files", rename("f", "g", .exchange))
        named("rename exchange dir onto a lower name", rename("uempty", "cov", .exchange))
        named("rename upper dir into lower dir", rename("uempty", "d1/moved"))
        named("rename upper dir over merged empty dir", rename("ud", "me"))
        named("rename lower dir chain with redirect", redirectDir: true, rename("d1/d2", "ld/d2"))
        named("rename lower dir in its directory with redirect", redirectDir: true, rename("d1", "d1b"))
        named("rename merged dir with redirect", redirectDir: true, rename("ld", "empty/ld"))
        named("rename exchange of merged and lower dirs with redirect", redirectDir: true, rename("ld", "d1", .exchange))
        func setattr(_ path: String, _ changes: AttrChanges) -> @Sendable (Fixture, () -> Void) throws -> Void {
            { f, arm in
                let node = try f.node(path)
                arm()
                _ = try f.fs.setattr(node, changes, handle: nil, caller: .root)
            }
        }
        named("truncate lower file", setattr("d1/d2/deep", AttrChanges(size: 2)))
        named("truncate lower file to 0", setattr("d1/d2/deep", AttrChanges(size: 0)))
        named("chmod lower file", setattr("d1/d2/deep", AttrChanges(mode: 0o600)))
        named("chown lower file", setattr("d1/d2/deep", AttrChanges(uid: 9, gid: 9)))
        named("utimens lower file", setattr("d1/d2/deep", AttrChanges(mtime: .set(Timespec(seconds: 5, nanoseconds: 0)))))
        named("chmod lower dir chain", setattr("d1/d2", AttrChanges(mode: 0o700)))
        named("chmod upper file", setattr("u", AttrChanges(mode: 0o600)))
        named("setxattr lower file") { f, arm in
            let node = try f.node("d1/d2/deep")
            arm()
            try f.fs.setxattr(node, name: Array("user.new".utf8), value: Array("1".utf8), flags: [], caller: .root)
        }
        named("removexattr lower file") { f, arm in
            let node = try f.node("d1/d2/deep")
            arm()
            try f.fs.removexattr(node, name: Array("user.k".utf8), caller: .root)
        }
        named("open for write: copy-up of file and dir chain") { f, arm in
            let node = try f.node("d1/d2/deep")
            arm()
            let h = try f.fs.open(node, flags: .readWrite, caller: .root)
            f.fs.release(h)
        }
        named("open with O_TRUNC") { f, arm in
            let node = try f.node("f")
            arm()
            let h = try f.fs.open(node, flags: [.writeOnly, .truncate], caller: .root)
            f.fs.release(h)
        }
        named("write") { f, arm in
            let node = try f.node("u")
            let h = try f.fs.open(node, flags: .readWrite, caller: .root)
            defer { f.fs.release(h) }
            arm()
            let data = Array("WRITTEN".utf8)
            _ = try data.withUnsafeBytes { (b) throws(Errno) -> Int in try f.fs.write(h, b, at: 3) }
        }
        return c
    }()

    /// Everything the mount shows, walked through the engine API: "path" -> type, mode, owner,
    /// link count (non-directories), size, content or link target, xattrs.
    static func visibleTree(_ f: Fixture) throws -> [String: String] {
        var out: [String: String] = [:]
        func describe(_ node: NodeID, _ path: String) throws {
            let st = try f.fs.getattr(node)
            var s = "\(st.type) \(String(st.permissions, radix: 8)) \(st.uid):\(st.gid)"
            if st.type != .directory { s += " n\(st.nlink) size=\(st.size)" }
            switch st.type {
            case .regular:
                let h = try f.fs.open(node, flags: .readOnly, caller: .root)
                defer { f.fs.release(h) }
                var buf = [UInt8](repeating: 0, count: 1 << 16)
                let got = try buf.withUnsafeMutableBytes { (b) throws(Errno) -> Int in try f.fs.read(h, into: b, at: 0) }
                s += " '" + String(decoding: buf[0..<got], as: UTF8.self) + "'"
            case .symlink:
                s += " -> " + String(decoding: try f.fs.readlink(node), as: UTF8.self)
            default: break
            }
            for x in try f.fs.listxattr(node).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let v = try f.fs.getxattr(node, name: x)
                s += " [\(String(decoding: x, as: UTF8.self))=\(String(decoding: v, as: UTF8.self))]"
            }
            out[path] = s
            if st.type == .directory {
                let h = node
                for e in try f.fs.readdir(node: h, from: 0) where e.name != [0x2E] && e.name != [0x2E, 0x2E] {
                    let name = Name(validated: e.name)
                    let child = try f.fs.lookup(parent: node, name: name)
                    #expect(child.attr.ino == e.ino, "readdir and lookup disagree on the inode of \(path)/\(name)")
                    try describe(child.node, path + "/" + name.description)
                }
            }
        }
        try describe(1, "")
        return out
    }

    /// Runs `c` on a fresh fixture with a fault `(errno, N)` on `layer` (nil: no fault); returns
    /// the fixture, the error and whether the fault fired.
    static func attempt(
        _ c: Case, fault: (errno: Errno, call: Int, onLower: Bool)?
    ) throws -> (Fixture, Errno?, fired: Bool, calls: Int) {
        let f = try fixture(redirectDir: c.redirectDir)
        let layer: MemoryLayer? = fault.map { $0.onLower ? f.lowers[0] : f.upper } ?? f.upper
        var start = 0
        let arm = {
            guard let layer else { return }
            start = layer.callCount
            if let fault { layer.injectFault(fault.errno, onCall: fault.call) }
        }
        var error: Errno?
        do { try c.run(f, arm) } catch let e as Errno { error = e }
        let fired = fault != nil && !(layer?.hasPendingFaults ?? true)
        let calls = (layer?.callCount ?? 0) - start
        f.upper?.clearFaults()
        f.lowers[0].clearFaults()
        return (f, error, fired, calls)
    }

    static func check(_ c: Case, onLower: Bool) throws -> Int {
        // Reference runs: the tree before, and after a fault-free run.
        let base = try fixture(redirectDir: c.redirectDir)
        let before = try visibleTree(base)
        let (clean, cleanError, _, _) = try attempt(c, fault: nil)
        #expect(cleanError == nil, "\(c.name): fails without a fault: \(String(describing: cleanError))")
        let after = try visibleTree(clean)
        var failures = 0
        for errno in errnos {
            var call = 0
            while true {
                let (f, error, fired, _) = try attempt(c, fault: (errno, call, onLower))
                let label = "\(c.name) [\(errno) on \(onLower ? "lower" : "upper") call \(call)]"
                if !fired {
                    #expect(error == nil, "\(label): \(String(describing: error)) without a fault")
                    break
                }
                let now = try visibleTree(f)
                if let error {
                    failures += 1
                    // (The shared whiteout device is meant to stay; see Whiteouts.swift.)
                    let work = (f.upper?.workEntries() ?? []).filter { $0 != OverlayFS.sharedWhiteoutName }
                    #expect(work.isEmpty, "\(label): work directory holds \(work)")
                    #expect(error == errno, "\(label): returned \(error)")
                    // open(O_TRUNC) copies up without data (as the kernel does): if the open
                    // then fails, the file is already empty, as the caller asked.
                    if now != before && !(c.name == "open with O_TRUNC" && now == after) {
                        Issue.record("\(label): visible tree changed:\n\(diff(before, now))")
                    }
                    // The engine keeps serving: the same operation now succeeds.
                    var again: Errno?
                    do { try c.run(f, {}) } catch let e as Errno { again = e }
                    #expect(again == nil, "\(label): retry failed with \(String(describing: again))")
                    if again == nil, try visibleTree(f) != after {
                        Issue.record("\(label): retry result differs:\n\(diff(after, try visibleTree(f)))")
                    }
                } else if now != after {
                    // A fault the engine absorbed (a fallback) must not change the result.
                    Issue.record("\(label): succeeded with a different result:\n\(diff(after, now))")
                }
                call += 1
                if call > 400 {
                    Issue.record("\(label): no end")
                    break
                }
            }
        }
        return failures
    }

    static func diff(_ a: [String: String], _ b: [String: String]) -> String {
        var lines: [String] = []
        for k in Set(a.keys).union(b.keys).sorted() where a[k] != b[k] {
            lines.append("  \(k): \(a[k] ?? "-") => \(b[k] ?? "-")")
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: cases.map(\.name))
    func faultOnUpperLeavesTreeAndWorkClean(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        _ = try Self.check(c, onLower: false)
    }

    @Test(arguments: cases.map(\.name))
    func faultOnLowerLeavesTreeAndWorkClean(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        _ = try Self.check(c, onLower: true)
    }
}
