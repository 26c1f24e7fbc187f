import LayerAPI
import Sys

/// Start-up checks: every mistake in the layer options is found here, before anything is
/// created or mounted, with a message naming the option and the path.
enum Validation {
    static func check(_ plan: MountPlan, isRoot: Bool) throws(CLIError) {
        var lowers: [(String, String)] = []
        for dir in plan.lowerDirs {
            _ = try directory(dir, role: "lowerdir")
            lowers.append((dir, try canonical(dir, role: "lowerdir")))
        }
        if let upperDir = plan.upperDir, let workDir = plan.workDir {
            let u = try directory(upperDir, role: "upperdir")
            let w = try directory(workDir, role: "workdir")
            if u.dev != w.dev {
                throw CLIError("upperdir \(upperDir) and workdir \(workDir) must be on the same filesystem")
            }
            let up = try canonical(upperDir, role: "upperdir")
            let wp = try canonical(workDir, role: "workdir")
            if up == wp { throw CLIError("upperdir and workdir must be different directories (both are \(up))") }
            if contains(up, wp) { throw CLIError("workdir \(workDir) is inside upperdir \(upperDir)") }
            if contains(wp, up) { throw CLIError("upperdir \(upperDir) is inside workdir \(workDir)") }
            for (given, lp) in lowers {
                if lp == up { throw CLIError("upperdir \(upperDir) is also a lowerdir (\(given))") }
                if contains(lp, up) { throw CLIError("upperdir \(upperDir) is inside lowerdir \(given)") }
                if contains(up, lp) { throw CLIError("lowerdir \(given) is inside upperdir \(upperDir)") }
                if lp == wp || contains(lp, wp) || contains(wp, lp) {
                    throw CLIError("workdir \(workDir) overlaps lowerdir \(given)")
                }
            }
        }
        _ = try directory(plan.mountpoint, role: "mountpoint")
        let mp = try canonical(plan.mountpoint, role: "mountpoint")
        if isMountOfOurs(mp) { throw CLIError("mountpoint \(plan.mountpoint) is already a shiftoverlay mount") }
        try checkFuseDevice(isRoot: isRoot)
    }

    /// True when `inner` lies strictly below `outer` (both canonical).
    static func contains(_ outer: String, _ inner: String) -> Bool {
        outer == "/" ? inner != "/" : inner.hasPrefix(outer + "/")
    }

    private static func directory(_ path: String, role: String) throws(CLIError) -> FileStat {
        let st: FileStat
        do { st = try statPath(path, followSymlinks: true) } catch {
            throw CLIError("\(role) \(path): \(describe(error))")
        }
        guard st.isDirectory else { throw CLIError("\(role) \(path) is not a directory") }
        return st
    }

    private static func canonical(_ path: String, role: String) throws(CLIError) -> String {
        do { return try realPath(path) } catch { throw CLIError("\(role) \(path): \(describe(error))") }
    }

    /// Whether /proc/self/mountinfo lists a fuse.shiftoverlay mount at `mountpoint`.
    static func isMountOfOurs(_ mountpoint: String) -> Bool {
        mountTable().contains { $0.mountpoint == mountpoint && $0.type == "fuse.shiftoverlay" }
    }

    /// /dev/fuse must exist; a non-root caller needs either access to it or a setuid
    /// fusermount3 to open it on its behalf.
    static func checkFuseDevice(isRoot: Bool) throws(CLIError) {
        guard let e = canOpenReadWrite("/dev/fuse") else { return }
        if e == .ENOENT || e == .ENODEV || e == .ENXIO {
            throw CLIError("/dev/fuse: \(describe(e)) (is the fuse kernel module loaded?)")
        }
        if isRoot { throw CLIError("/dev/fuse: \(describe(e))") }
        for helper in ["/usr/bin/fusermount3", "/bin/fusermount3"] {
            if let st = try? statPath(helper, followSymlinks: true), st.mode & ModeBits.setUID != 0, st.uid == 0 { return }
        }
        throw CLIError("no permission to open /dev/fuse (\(describe(e))) and no setuid fusermount3: run as root, make /dev/fuse mode 0666, or install fuse3")
    }

    static func describe(_ e: Errno) -> String { errnoDescription(e) }
}
