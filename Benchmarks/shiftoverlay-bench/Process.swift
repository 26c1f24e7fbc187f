import Glibc

/// An error from the harness, with a readable message.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Set by SIGINT/SIGTERM/SIGHUP; the runner checks it between steps and unwinds (unmounting).
nonisolated(unsafe) var interrupted: sig_atomic_t = 0

func installInterruptHandlers() {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig) { _ in interrupted = 1 }
    }
}

func checkInterrupted() throws {
    if interrupted != 0 { throw BenchError("interrupted") }
}

/// A child process started with `posix_spawnp`: stdin, stdout and stderr from/to files, an empty
/// signal mask and default dispositions. Only processes started here are ever signalled, by PID.
final class Child {
    let pid: pid_t
    let argv: [String]
    private(set) var exitStatus: Int32?  // exit code, or 128 + signal

    init(_ argv: [String], stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String = "/dev/null")
        throws
    {
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
        posix_spawn_file_actions_addopen(&fa, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
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
        var p: pid_t = 0
        let rc = posix_spawnp(&p, argv[0], &fa, &attr, cArgs, environ)
        guard rc == 0 else { throw BenchError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        pid = p
    }

    /// Reaps the child if it has exited; true while it is still running.
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 { return true }
        if r == pid {
            exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        } else {
            exitStatus = -1
        }
        return false
    }

    /// Waits up to `seconds` for the child to exit; true if it did. Polls, so that a blocked wait
    /// never hides a hung child.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        let deadline = now() + seconds
        var nap: UInt32 = 50
        while isRunning {
            if now() > deadline { return false }
            usleep(nap)
            nap = min(nap * 2, 2_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; always reaps.
    func terminate(grace: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !wait(seconds: grace) {
            kill(pid, SIGKILL)
            wait(seconds: 30)
        }
    }
}

/// The log that every command's stderr is appended to (set once by the runner).
nonisolated(unsafe) var commandLog = "/dev/null"

/// Runs a command to completion (killed after `timeout` seconds) and throws unless it exits 0.
func run(_ argv: [String], stdin: String = "/dev/null", stdout: String = "/dev/null", timeout: Double = 600,
         allowFailure: Bool = false) throws
{
    let c = try Child(argv, stdin: stdin, stdout: stdout, stderr: commandLog)
    if !c.wait(seconds: timeout) {
        c.terminate()
        throw BenchError("\(argv.joined(separator: " ")): timed out after \(Int(timeout)) s")
    }
    if let s = c.exitStatus, s != 0, !allowFailure {
        throw BenchError("\(argv.joined(separator: " ")): exit status \(s) (stderr in \(commandLog))")
    }
}

/// Runs a shell command line (for pipelines).
func sh(_ script: String, timeout: Double = 600) throws {
    try run(["/bin/sh", "-c", script], timeout: timeout)
}

/// True if `name` is found on PATH (or is an executable path).
func haveProgram(_ name: String) -> Bool {
    if name.hasPrefix("/") { return access(name, X_OK) == 0 }
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/sbin:/usr/bin:/sbin:/bin"
    return path.split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
}
