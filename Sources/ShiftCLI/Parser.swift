import OverlayEngine
import FuseAdapter

/// The fuse-overlayfs command line: `[-f] [-d] [-s] [-o OPT[,OPT...]]... [SOURCE] MOUNTPOINT`,
/// options before or after the positionals (mount.fuse3 passes `SOURCE MOUNTPOINT -o ...`).
public enum Parser {
    /// Options this program interprets; a close misspelling of one that changes what gets
    /// mounted is an error rather than a warning (a typo in upperdir= would mount read-only).
    static let ownOptions = ["lowerdir", "upperdir", "workdir", "uidmapping", "gidmapping"]
    static let otherOwnOptions = [
        "timeout", "fsync", "volatile", "threaded", "squash_to_root", "squash_to_uid", "squash_to_gid",
        "xattr_permissions", "noacl", "noxattrs", "static_nlink", "ino32_t", "writeback", "xino",
        "fast_ino_check", "redirect_dir", "metacopy", "passthrough", "readahead", "max_read",
        "uring", "uring_threads", "prefetch",
    ]

    /// fuse-overlayfs options accepted and ignored for now, with a warning.
    static let unsupported: Set<String> = [
        "plugins",
    ]

    /// Mount flags and options libfuse 3.14 understands (lib/mount.c, fuse_lowlevel.c): passed through.
    static let fuseFlags: Set<String> = [
        "ro", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "async", "sync", "dirsync", "atime", "noatime",
        "diratime", "nodiratime", "lazytime", "nolazytime", "relatime", "norelatime", "strictatime",
        "nostrictatime", "allow_other", "allow_root", "default_permissions", "auto_unmount",
    ]
    static let fuseKeyed: Set<String> = [
        "fsname", "subtype", "context", "fscontext", "defcontext", "rootcontext",
    ]

    /// libmount/fstab words that may reach a helper and mean nothing to it: ignored silently.
    static let silent: Set<String> = ["rw", "defaults", "auto", "noauto", "nofail", "_netdev", "user", "users", "nouser", "owner", "group"]

    /// Parses `arguments` (argv, including argv[0]).
    public static func parse(_ arguments: [String], facts: HostFacts) throws(CLIError) -> Command {
        var positionals: [String] = []
        var optionLists: [String] = []
        var foreground = false
        var debug = false
        var singleThread = false
        var warnings: [String] = []
        var endOfOptions = false
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            i += 1
            if endOfOptions || !a.hasPrefix("-") || a == "-" {
                positionals.append(a)
                continue
            }
            switch a {
            case "--": endOfOptions = true
            case "-h", "--help": return .help
            case "-V", "--version": return .version
            case "-f": foreground = true
            case "-d", "--debug", "-odebug":
                debug = true
                foreground = true
            case "-s": singleThread = true
            case "-o":
                guard i < arguments.count else { throw CLIError("-o needs an argument") }
                optionLists.append(arguments[i])
                i += 1
            default:
                if a.hasPrefix("-o") {
                    optionLists.append(String(a.dropFirst(2)))
                } else {
                    warnings.append("ignoring unknown argument '\(a)'")
                }
            }
        }

        let source: String?
        let mountpoint: String
        switch positionals.count {
        case 0: throw CLIError("no mountpoint given (usage: shiftoverlay -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR] MOUNTPOINT)")
        case 1:
            source = nil
            mountpoint = positionals[0]
        case 2:
            source = positionals[0]
            mountpoint = positionals[1]
        default:
            throw CLIError("too many arguments: \(positionals.joined(separator: " ")) (expected [SOURCE] MOUNTPOINT)")
        }
        guard !mountpoint.isEmpty else { throw CLIError("empty mountpoint") }

        var state = OptionState(facts: facts)
        for list in optionLists {
            for entry in OptionList.split(list) {
                try state.apply(entry)
            }
        }
        warnings += state.warnings

        guard let lowers = state.lowerDirs, !lowers.isEmpty else {
            var message = "no lowerdir= given: at least one lower layer is required"
            if let typo = state.misspeltLowerdir { message += " (did you mean lowerdir= instead of \(typo)=?)" }
            throw CLIError(message)
        }
        if state.upperDir != nil && state.workDir == nil {
            throw CLIError("upperdir= needs workdir= (a directory on the same filesystem as the upper layer)")
        }
        if state.workDir != nil && state.upperDir == nil {
            throw CLIError("workdir= is only meaningful with upperdir=")
        }

        var plan = MountPlan(mountpoint: resolve(mountpoint, facts.cwd), lowerDirs: lowers)
        plan.source = source
        plan.upperDir = state.upperDir
        plan.workDir = state.workDir
        plan.uidMap = state.uidMap
        plan.gidMap = state.gidMap
        plan.fsync = state.fsync
        // squash_to_uid/gid win over squash_to_root, whatever their order.
        plan.squashUID = state.squashUID ?? (state.squashToRoot ? 0 : nil)
        plan.squashGID = state.squashGID ?? (state.squashToRoot ? 0 : nil)
        plan.xattrPermissions = state.xattrPermissions
        plan.posixACL = !state.noACL && !state.noXattrs
        plan.xattrs = !state.noXattrs
        plan.staticNlink = state.staticNlink
        plan.metacopy = state.metacopy
        // metacopy=on needs directory redirects, as in the kernel: it turns them on unless
        // redirect_dir= says otherwise, which is a conflict.
        if state.metacopy, let r = state.redirectDir, r != .on {
            throw CLIError("metacopy=on conflicts with redirect_dir=\(r == .nofollow ? "nofollow" : "off") (metacopy=on needs redirect_dir=on)")
        }
        plan.redirectDir = state.metacopy ? .on : state.redirectDir ?? .follow
        plan.ino32 = state.ino32
        plan.writeback = state.writeback
        plan.passthrough = state.passthrough
        plan.readaheadKiB = state.readaheadKiB
        plan.maxRead = state.maxRead
        plan.uring = state.uring
        plan.uringThreads = state.uringThreads
        plan.prefetchThreads = state.prefetchThreads
        plan.timeout = state.timeout
        plan.threads = singleThread ? 1 : state.threads
        plan.foreground = foreground || state.debug
        plan.debug = debug || state.debug
        plan.warnings = warnings

        // fuse-overlayfs's defaults first, so the caller's flags (later) win.
        var fuse = facts.isRoot
            ? ["default_permissions", "allow_other", "suid", "noatime"] : ["default_permissions", "noatime"]
        // libfuse refuses allow_root together with allow_other.
        if state.fuseOptions.contains("allow_root") { fuse.removeAll { $0 == "allow_other" } }
        fuse += state.fuseOptions
        if !state.fuseOptions.contains(where: { $0.hasPrefix("fsname=") }) {
            fuse.append("fsname=" + (source.flatMap { $0.isEmpty ? nil : $0 } ?? "shiftoverlay"))
        }
        if !state.fuseOptions.contains(where: { $0.hasPrefix("subtype=") }) {
            fuse.append("subtype=shiftoverlay")
        }
        // The kernel's bound on one read request; libfuse wants init() to say the same.
        fuse.append("max_read=\(state.maxRead)")
        plan.fuseOptions = fuse
        return .mount(plan)
    }

    /// An absolute form of `path` (relative to `cwd`), without trailing slashes.
    static func resolve(_ path: String, _ cwd: String) -> String {
        var p = path.hasPrefix("/") ? path : (cwd.hasSuffix("/") ? cwd + path : cwd + "/" + path)
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }
}

/// The -o entries seen so far (later entries override earlier ones).
struct OptionState {
    let facts: HostFacts
    var lowerDirs: [String]?
    var upperDir: String?
    var workDir: String?
    var uidMap: IDMap = .identity
    var gidMap: IDMap = .identity
    var fsync = true
    var squashToRoot = false
    var squashUID: UInt32?
    var squashGID: UInt32?
    var xattrPermissions = 0
    var noACL = false
    var noXattrs = false
    var staticNlink = false
    var metacopy = false
    /// redirect_dir= as given (nil: not given).
    var redirectDir: RedirectDir?
    var ino32 = false
    var writeback = false
    var passthrough = true
    var readaheadKiB = MountPlan.defaultReadaheadKiB
    var maxRead = MountPlan.defaultMaxRead
    var uring = UringMode.auto
    var uringThreads = MountPlan.defaultUringThreads
    var prefetchThreads = MountPlan.defaultPrefetchThreads
    var timeout = MountPlan.defaultTimeout
    var threads = 10
    var fuseOptions: [String] = []
    var warnings: [String] = []
    var misspeltLowerdir: String?
    /// `-o debug` (libfuse's spelling of -d).
    var debug = false

    init(facts: HostFacts) { self.facts = facts }

    mutating func apply(_ entry: String) throws(CLIError) {
        let (key, value) = OptionList.keyValue(entry)
        switch key {
        case "lowerdir":
            let v = try required(key, value)
            let dirs = OptionList.splitValue(v, on: ":").filter { !$0.isEmpty }
                .map { Parser.resolve($0, facts.cwd) }
            guard !dirs.isEmpty else { throw CLIError("lowerdir= names no directory") }
            lowerDirs = dirs
        case "upperdir":
            upperDir = Parser.resolve(OptionList.unescapePath(try required(key, value)), facts.cwd)
        case "workdir":
            workDir = Parser.resolve(OptionList.unescapePath(try required(key, value)), facts.cwd)
        case "uidmapping":
            uidMap = try IDMapParser.parse(try required(key, value), option: key, overflowID: facts.overflowUID)
        case "gidmapping":
            gidMap = try IDMapParser.parse(try required(key, value), option: key, overflowID: facts.overflowGID)
        case "timeout":
            let v = try required(key, value)
            guard let t = Double(v), t.isFinite, t >= 0 else {
                throw CLIError("timeout=\(v): expected a number of seconds >= 0")
            }
            timeout = t
        case "fsync":
            switch try required(key, value) {
            case "0": fsync = false
            case "1": fsync = true
            case let v: throw CLIError("fsync=\(v): expected 0 or 1")
            }
        case "noacl":
            noACL = try flag(key, value)
        case "noxattrs":
            noXattrs = try flag(key, value)
        case "static_nlink":
            staticNlink = try flag(key, value)
        case "ino32_t":
            ino32 = try flag(key, value)
        case "writeback":
            writeback = try flag(key, value)
        case "passthrough":
            switch value {
            case "on": passthrough = true
            case "off": passthrough = false
            case let v: throw CLIError("passthrough=\(v ?? ""): expected on or off")
            }
        case "uring":
            guard let v = value, let mode = UringMode(rawValue: v) else {
                throw CLIError("uring=\(value ?? ""): expected auto, on or off")
            }
            uring = mode
        case "uring_threads":
            uringThreads = try integer(
                key, value, 1...MountPlan.maxUringThreads, expected: "1 to \(MountPlan.maxUringThreads) threads per CPU")
        case "prefetch":
            prefetchThreads = try integer(
                key, value, 0...MountPlan.maxPrefetchThreads, expected: "0 (off) to \(MountPlan.maxPrefetchThreads) threads")
        case "max_read":
            maxRead = try integer(key, value, 4096...(1 << 30), expected: "bytes from 4096")
        case "readahead":
            readaheadKiB = try integer(
                key, value, 0...MountPlan.maxReadaheadKiB,
                expected: "KiB from 0 (the kernel's default) to \(MountPlan.maxReadaheadKiB)")
        case "metacopy":
            switch value {
            case "on": metacopy = true
            case "off": metacopy = false
            case let v: throw CLIError("metacopy=\(v ?? ""): expected on or off")
            }
        case "fast_ino_check":
            // Inode numbers are always checked against the layer object they come from.
            _ = try flag(key, value)
        case "xino":
            // Inode numbers always carry the layer's filesystem in their top bits (as xino=on).
            guard let v = value, ["off", "auto", "on"].contains(v) else { throw CLIError("xino=\(value ?? ""): expected off, auto or on") }
        case "redirect_dir":
            // The kernel's values; off means follow, as with its default redirect_always_follow.
            switch value {
            case "on": redirectDir = .on
            case "off", "follow": redirectDir = .follow
            case "nofollow": redirectDir = .nofollow
            case let v: throw CLIError("redirect_dir=\(v ?? ""): expected on, off, follow or nofollow")
            }
        case "squash_to_root" where value == nil:
            squashToRoot = true
        case "squash_to_uid":
            squashUID = try id(key, value)
        case "squash_to_gid":
            squashGID = try id(key, value)
        case "xattr_permissions":
            let v = try required(key, value)
            guard let n = Int(v), (0...2).contains(n) else {
                throw CLIError("xattr_permissions=\(v): expected 0, 1 (security.fuseoverlayfs.override_stat) or 2 (user.fuseoverlayfs.override_stat)")
            }
            xattrPermissions = n
        case "debug" where value == nil:
            debug = true
        case "volatile" where value == nil:
            fsync = false
        case "threaded":
            let v = try required(key, value)
            guard let n = Int(v), n >= 0, n <= 100_000 else {
                throw CLIError("threaded=\(v): expected 0 (single thread), 1 (default pool) or a thread count")
            }
            threads = n == 0 ? 1 : (n == 1 ? 10 : n)
        case _ where Parser.unsupported.contains(key):
            warnings.append("ignoring fuse-overlayfs option '\(entry)' (not supported yet)")
        case _ where value == nil && Parser.fuseFlags.contains(key):
            fuseOptions.append(entry)
        case _ where value != nil && Parser.fuseKeyed.contains(key):
            fuseOptions.append(entry)
        case _ where Parser.silent.contains(key) || key.hasPrefix("x-"):
            break
        default:
            try unknown(entry, key: key, value: value)
        }
    }

    /// A fuse-overlayfs flag: bare, =1 (on) or =0 (off).
    private func flag(_ key: String, _ value: String?) throws(CLIError) -> Bool {
        switch value {
        case nil, "1": return true
        case "0": return false
        case let v: throw CLIError("\(key)=\(v ?? ""): expected 0 or 1")
        }
    }

    private func id(_ key: String, _ value: String?) throws(CLIError) -> UInt32 {
        let v = try required(key, value)
        guard let n = UInt32(v), n != UInt32.max else { throw CLIError("\(key)=\(v): expected a numeric id") }
        return n
    }

    /// The whole number `key=` gives, within `range` ("KEY=VALUE: expected ..." otherwise).
    private func integer(_ key: String, _ value: String?, _ range: ClosedRange<Int>, expected: String) throws(CLIError) -> Int {
        let v = try required(key, value)
        guard let n = Int(v), range.contains(n) else { throw CLIError("\(key)=\(v): expected \(expected)") }
        return n
    }

    private func required(_ key: String, _ value: String?) throws(CLIError) -> String {
        guard let value, !value.isEmpty else { throw CLIError("\(key)= needs a value") }
        return value
    }

    private mutating func unknown(_ entry: String, key: String, value: String?) throws(CLIError) {
        if let near = Parser.ownOptions.first(where: { editDistance($0, key) <= 2 }) {
            if near == "lowerdir" && lowerDirs == nil { misspeltLowerdir = key }
            if value != nil {
                throw CLIError("unknown option '\(key)=': did you mean \(near)=?")
            }
        }
        var line = "ignoring unknown option '\(entry)'"
        let all = Parser.ownOptions + Parser.otherOwnOptions + Array(Parser.unsupported)
            + Array(Parser.fuseFlags) + Array(Parser.fuseKeyed)
        if let near = all.sorted().first(where: { editDistance($0, key) <= 1 && $0 != key }) {
            line += " (did you mean \(near)?)"
        }
        warnings.append(line)
    }
}

/// Levenshtein distance (on bytes; option names are ASCII).
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = previous
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}
