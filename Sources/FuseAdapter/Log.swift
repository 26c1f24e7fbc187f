import CFuse
import Glibc

/// Start-up and daemon diagnostics: "shiftoverlay: ..." lines on stderr (write(2): Glibc's
/// `stderr` is not usable in Swift 6), and, once the daemon may have lost its terminal, syslog.
public enum DaemonLog {
    public enum Level: Sendable {
        case error, warning, info

        var syslogPriority: Int32 {
            switch self {
            case .error: return LOG_ERR
            case .warning: return LOG_WARNING
            case .info: return LOG_INFO
            }
        }
    }

    /// Writes `shiftoverlay: message` to stderr, and to syslog when `syslog` is true.
    public static func write(_ message: String, level: Level = .error, syslog: Bool = false) {
        let line = "shiftoverlay: " + (level == .warning ? "warning: " : "") + message + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                guard let base = b.baseAddress else { break }
                let n = Glibc.write(2, base + done, b.count - done)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                done += n
            }
        }
        if syslog {
            bytes = Array(message.utf8)
            bytes.append(0)
            bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { cfuse_syslog(level.syslogPriority, $0.baseAddress) }
            }
        }
    }

    /// The libfuse version string (e.g. "3.14.0").
    public static var fuseVersion: String {
        guard let p = fuse_pkgversion() else { return "\(FUSE_MAJOR_VERSION).\(FUSE_MINOR_VERSION)" }
        return String(cString: p)
    }
}
