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
    static func start(_ context: AdapterContext, syslog: Bool) {
        let box = Unmanaged.passRetained(StatusBox(context: context, syslog: syslog))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            let box = Unmanaged<StatusBox>.fromOpaque(arg).takeUnretainedValue()
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGUSR1)
            var sig: Int32 = 0
            while sigwait(&set, &sig) == 0 {
                let c = box.context
                DaemonLog.write("status: \(c.engine.status()), \(c.passthroughStatus), \(c.requestStatus)\(c.uringStatus)", level: .info, syslog: box.syslog)
            }
            return nil
        }, box.toOpaque())
        if rc == 0 {
            pthread_detach(thread)
        } else {
            box.release()
        }
    }
}

/// What the status thread needs (kept alive for the life of the process).
final class StatusBox: Sendable {
    let context: AdapterContext
    let syslog: Bool
    init(context: AdapterContext, syslog: Bool) {
        self.context = context
        self.syslog = syslog
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
