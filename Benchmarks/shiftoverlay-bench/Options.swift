import Glibc

/// The `mounts` command line.
struct MountOptions {
    var quick = false
    var rounds: Int?
    var systems: [System] = System.defaults
    var binary: String?
    var rootfs: String?
    var workloads: [String]?
    var cache = "/var/cache/shiftoverlay-bench"

    static func parse(_ args: [String]) throws -> MountOptions {
        var o = MountOptions()
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchError("\(args[i - 1]) needs a value\n\(usage)") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--quick": o.quick = true
            case "--rounds":
                guard let r = Int(try value()), r > 0 else { throw BenchError("--rounds needs a positive number") }
                o.rounds = r
            case "--systems":
                o.systems = try value().split(separator: ",").map { s in
                    guard let sys = System(rawValue: String(s)) else { throw BenchError("unknown system \(s)") }
                    return sys
                }
            case "--binary": o.binary = try value()
            case "--rootfs": o.rootfs = try value()
            case "--cache": o.cache = try value()
            case "--workloads": o.workloads = try value().split(separator: ",").map(String.init)
            default: throw BenchError("unknown argument \(args[i])\n\(usage)")
            }
            i += 1
        }
        return o
    }
}

/// The path of the running executable.
func selfExecutable() -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Re-executes this program under `unshare -m --propagation private` unless already done, so no
/// mount can leak into the caller's namespace (and all vanish with the namespace).
func enterPrivateMountNamespace() throws {
    if getenv("SHIFTOVERLAY_BENCH_NS") != nil { return }
    guard let exe = selfExecutable() else { throw BenchError("cannot read /proc/self/exe") }
    setenv("SHIFTOVERLAY_BENCH_NS", "1", 1)
    let argv = ["unshare", "-m", "--propagation", "private", exe] + Array(CommandLine.arguments.dropFirst())
    let cArgs = argv.map { strdup($0) } + [nil]
    execvp("unshare", cArgs)
    throw BenchError("cannot run unshare: \(errnoText())")
}
