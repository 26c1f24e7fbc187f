import FuseAdapter
import Glibc
import LayerAPI
import OverlayEngine
import PosixLayer

/// The acting half of the CLI: checks the plan against the filesystem, prepares the work
/// directory, opens the layers and builds the engine. Runs before libfuse forks, so it must
/// start no threads.
enum Startup {
    static func makeEngine(_ plan: MountPlan) throws(CLIError) -> OverlayFS {
        try check(plan)

        var lowers: [any Layer] = []
        for dir in plan.lowerDirs {
            do {
                lowers.append(try PosixLayer(root: dir))
            } catch {
                throw CLIError("cannot open lower layer \(dir): \(describe(error))")
            }
        }

        var upper: (any UpperLayer)?
        if let upperDir = plan.upperDir, let workTemp = plan.workTempDir {
            try makeWorkTemp(workTemp)
            let layer: PosixUpperLayer
            do {
                layer = try PosixUpperLayer(root: upperDir, workDir: workTemp)
            } catch {
                throw CLIError("cannot open upper layer \(upperDir) (work directory \(workTemp)): \(describe(error))")
            }
            try emptyWorkTemp(workTemp, layer)
            upper = layer
        }

        var options = EngineOptions()
        options.uidMap = plan.uidMap
        options.gidMap = plan.gidMap
        options.fsync = plan.fsync
        options.squashUID = plan.squashUID
        options.squashGID = plan.squashGID
        options.xattrPermissions = plan.xattrPermissions
        let toSyslog = !plan.foreground
        let warning: @Sendable (String) -> Void = { DaemonLog.write($0, level: .warning, syslog: toSyslog) }
        var debug: (@Sendable (String) -> Void)?
        if plan.debug { debug = { DaemonLog.write($0, level: .info) } }
        options.log = EngineLog(warning: warning, debug: debug)
        do {
            return try OverlayFS(lowers: lowers, upper: upper, options: options)
        } catch {
            throw CLIError("cannot start the overlay: \(describe(error))")
        }
    }

    /// Every directory exists and is a directory; upper and work share a filesystem.
    static func check(_ plan: MountPlan) throws(CLIError) {
        for dir in plan.lowerDirs { _ = try directory(dir, role: "lowerdir") }
        if let upperDir = plan.upperDir, let workDir = plan.workDir {
            let u = try directory(upperDir, role: "upperdir")
            let w = try directory(workDir, role: "workdir")
            if u.st_dev != w.st_dev {
                throw CLIError("upperdir \(upperDir) and workdir \(workDir) must be on the same filesystem")
            }
            if u.st_dev == w.st_dev && u.st_ino == w.st_ino {
                throw CLIError("upperdir and workdir must be different directories")
            }
        }
        _ = try directory(plan.mountpoint, role: "mountpoint")
    }

    private static func directory(_ path: String, role: String) throws(CLIError) -> stat {
        var st = stat()
        guard fstatat(AT_FDCWD, path, &st, 0) == 0 else {
            throw CLIError("\(role) \(path): \(describe(Errno(rawValue: errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw CLIError("\(role) \(path) is not a directory") }
        return st
    }

    /// Creates WORKDIR/work (mode 0700) if absent.
    private static func makeWorkTemp(_ path: String) throws(CLIError) {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else { throw CLIError("\(path) exists and is not a directory") }
            return
        }
        let e = errno
        guard e == ENOENT else { throw CLIError("\(path): \(describe(Errno(rawValue: e)))") }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw CLIError("cannot create work directory \(path): \(describe(Errno(rawValue: errno)))")
        }
    }

    /// Removes what a crashed run left in WORKDIR/work, through the upper layer.
    private static func emptyWorkTemp(_ path: String, _ layer: PosixUpperLayer) throws(CLIError) {
        guard let dir = opendir(path) else {
            throw CLIError("cannot read work directory \(path): \(describe(Errno(rawValue: errno)))")
        }
        var names: [Name] = []
        while let de = readdir(dir) {
            let bytes = withUnsafePointer(to: &de.pointee.d_name) {
                $0.withMemoryRebound(to: UInt8.self, capacity: 256) { p in
                    Array(UnsafeBufferPointer(start: p, count: strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))))
                }
            }
            if let n = Name(bytes) { names.append(n) }
        }
        closedir(dir)
        for n in names {
            do {
                try layer.removeTree(.work(n))
            } catch {
                DaemonLog.write("cannot remove stale \(path)/\(n): \(describe(error))", level: .warning)
            }
        }
    }

    static func describe(_ e: Errno) -> String {
        guard let s = strerror(e.rawValue) else { return e.description }
        return String(cString: s) + " (\(e))"
    }
}
