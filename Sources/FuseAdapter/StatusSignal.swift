import CFuse
import Glibc
import OverlayEngine

/// SIGUSR1 writes the engine's status line to the log. The signal is blocked in every thread
/// (set before libfuse starts its workers, which inherit the mask) and taken synchronously by one
/// small thread with sigwait, so no code runs in a signal handler.
enum StatusSignal {
    /// Blocks SIGUSR1 in the calling thread; call before the session loop starts.
    static func block() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the waiting thread (after daemonizing: threads do not survive fork).
    static func start(_ c: AdapterContext, syslog: Bool) {
        _ = startDetachedThread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            var sig: Int32 = 0
            while sigwait(&set, &sig) == 0 {
                DaemonLog.write("status: \(c.engine.status()), \(c.passthroughStatus), \(c.requestStatus)\(c.uringStatus)", level: .info, syslog: syslog)
            }
        }
    }
}

extension AdapterContext {
    /// Whether the daemon clears setid bits (FUSE_HANDLE_KILLPRIV_V2), the GETXATTR count and the
    /// readdirplus entries answered without a lookup.
    var requestStatus: String {
        let killPriv = killPrivNegotiated.load(ordering: .acquiring) ? "on" : "off"
        return "killpriv_v2 \(killPriv), getxattr requests \(getxattrRequests.load(ordering: .relaxed)), "
            + "readdirplus entries held by the kernel \(heldEntries.load(ordering: .relaxed))"
    }
}
