import FuseAdapter
import LayerAPI
import OverlayEngine
import PosixLayer
import Sys

/// The acting half of the CLI: checks the plan against the filesystem, prepares the work
/// directory, opens the layers and builds the engine. Runs before libfuse forks, so it must
/// start no threads.
enum Startup {
    static func makeEngine(_ plan: MountPlan) throws(CLIError) -> OverlayFS {
        try Validation.check(plan, isRoot: HostFacts.current().isRoot)
        raiseOpenFileLimit()

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
        options.xattrs = plan.xattrs
        options.staticNlink = plan.staticNlink
        options.metacopy = plan.metacopy
        options.redirectDir = plan.redirectDir
        options.ino32 = plan.ino32
        options.writebackCache = plan.writeback
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

    /// Creates WORKDIR/work (mode 0700) if absent.
    private static func makeWorkTemp(_ path: String) throws(CLIError) {
        if let st = try? statPath(path, followSymlinks: false) {
            guard st.isDirectory else { throw CLIError("\(path) exists and is not a directory") }
            return
        }
        do { try mkdir(path, mode: 0o700) } catch {
            if error != .EEXIST { throw CLIError("cannot create work directory \(path): \(describe(error))") }
        }
    }

    /// Removes what a crashed run left in WORKDIR/work, through the upper layer.
    private static func emptyWorkTemp(_ path: String, _ layer: PosixUpperLayer) throws(CLIError) {
        let names: [[UInt8]]
        do { names = try directoryNames(path) } catch {
            throw CLIError("cannot read work directory \(path): \(describe(error))")
        }
        for bytes in names {
            guard let n = Name(bytes) else { continue }
            do {
                try layer.removeTree(.work(n))
            } catch {
                DaemonLog.write("cannot remove stale \(path)/\(n): \(describe(error))", level: .warning)
            }
        }
    }

    static func describe(_ e: Errno) -> String { errnoDescription(e) }
}
