import ChildProcess
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

typealias Child = ChildProcess

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
