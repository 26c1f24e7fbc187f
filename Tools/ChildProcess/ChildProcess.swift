import Glibc

/// Why a child could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A child process for test and tool code (integration tests, the differential tester, the
/// benchmark harness), started with posix_spawnp: stdin, stdout and stderr from/to files, an
/// empty signal mask and default dispositions (a parent's blocked SIGTERM must not reach a
/// daemon under test, which Foundation's Process would pass on). Only processes started here are
/// ever signalled, and only by PID.
public final class ChildProcess {
    public let pid: pid_t
    public let argv: [String]
    /// Exit code, or 128 + signal number; nil while running.
    public private(set) var exitStatus: Int32?
    public private(set) var killedBySignal = false

    /// `stderr` nil: stderr goes where stdout goes. `environment` nil: the parent's environment;
    /// otherwise these variables are added to (or replace those of) the parent's.
    public init(
        _ argv: [String], stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String? = "/dev/null",
        environment: [String: String]? = nil
    ) throws {
        guard let program = argv.first else { throw ChildProcessError("no program to run") }
        self.argv = argv
        var fa = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        posix_spawn_file_actions_init(&fa)
        posix_spawnattr_init(&attr)
        defer {
            posix_spawn_file_actions_destroy(&fa)
            posix_spawnattr_destroy(&attr)
        }
        posix_spawn_file_actions_addopen(&fa, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let stderr {
            posix_spawn_file_actions_addopen(&fa, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&fa, 1, 2)
        }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var env = Self.parentEnvironment()
        for (k, v) in environment ?? [:] { env[k] = v }
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in cEnv { free(e) } }
        var p: pid_t = 0
        let rc = posix_spawnp(&p, program, &fa, &attr, cArgs, cEnv)
        guard rc == 0 else { throw ChildProcessError("cannot start \(program): \(String(cString: strerror(rc)))") }
        pid = p
    }

    static func parentEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }

    /// Reaps the child if it has exited; true while it is still running.
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 { return true }
        if r == pid {
            if status & 0x7f == 0 {
                exitStatus = (status >> 8) & 0xff
            } else {
                killedBySignal = true
                exitStatus = 128 + (status & 0x7f)
            }
        } else {
            exitStatus = -1  // not our child any more (should not happen)
        }
        return false
    }

    /// Waits up to `seconds` for the child to exit; true if it did. Polls, so a hung child never
    /// blocks the caller.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        let deadline = Self.now() + seconds
        var nap: UInt32 = 50
        while isRunning {
            if Self.now() > deadline { return false }
            usleep(nap)
            nap = min(nap * 2, 2_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; always reaps.
    public func terminate(grace: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !wait(seconds: grace) {
            kill(pid, SIGKILL)
            wait(seconds: 30)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
