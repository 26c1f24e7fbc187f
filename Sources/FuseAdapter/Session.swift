import CFuse
import Glibc
import LayerAPI
import OverlayEngine

/// How to mount and serve: everything the CLI decided that libfuse needs.
public struct FuseMountConfig: Sendable, Hashable {
    /// An absolute path (the daemon's cwd becomes / when it daemonizes).
    public var mountpoint: String
    /// Stay in the foreground (no fuse_daemonize).
    public var foreground: Bool
    /// libfuse debug output (-d) on stderr.
    public var debug: Bool
    /// Passed to libfuse as one `-o` list: allow_other, default_permissions, fsname=, subtype=, ro...
    /// Commas and backslashes inside an entry are escaped here.
    public var fuseOptions: [String]
    /// Entry and attribute cache timeout in seconds (also for negative lookups).
    public var timeout: Double
    /// Maximum worker threads; 1 runs the single-threaded loop.
    public var threads: Int
    /// Let the kernel handle POSIX ACLs (fuse-overlayfs's noacl turns it off).
    public var posixACL: Bool = true
    /// Let the kernel cache writes (FUSE writeback cache; fuse-overlayfs's writeback=1).
    public var writeback: Bool = false
    /// Let the kernel read and write whole upper-layer files directly (FUSE passthrough, Linux
    /// 6.9+, daemon with CAP_SYS_ADMIN; silently not used where unavailable or with writeback).
    public var passthrough: Bool = true
    /// The read-ahead window set on the mount once the kernel has it (KiB; 0: leave the
    /// kernel's default). Needs root (sysfs); silently kept otherwise.
    public var readaheadKiB: Int = 0
    /// The max_read= mount option given to libfuse (0: none); init() must repeat it.
    public var maxRead: Int = 0
    /// FUSE over io_uring (uring=auto|on|off) and its ring threads per CPU (uring_threads=).
    public var uring: UringMode = .auto
    public var uringThreads: Int = 2
    /// Threads that list directories ahead of a tree walk (prefetch=; 0: none).
    public var prefetchThreads: Int = 2

    public init(
        mountpoint: String, foreground: Bool = false, debug: Bool = false, fuseOptions: [String] = [],
        timeout: Double = 86400, threads: Int = 10
    ) {
        self.mountpoint = mountpoint
        self.foreground = foreground
        self.debug = debug
        self.fuseOptions = fuseOptions
        self.timeout = timeout
        self.threads = threads
    }

    /// The argv libfuse's fuse_session_new sees (program name, optional -d, one -o list).
    public var libfuseArguments: [String] {
        var args = ["shiftoverlay"]
        if debug { args.append("-d") }
        let opts = fuseOptions.filter { !$0.isEmpty }.map(Self.escape)
        if !opts.isEmpty {
            args.append("-o")
            args.append(opts.joined(separator: ","))
        }
        return args
    }

    /// fuse_opt splits on ',' and treats '\' as an escape.
    static func escape(_ option: String) -> String {
        var out = ""
        for ch in option {
            if ch == "," || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}

/// Mounts `engine` at `config.mountpoint` and serves it until unmounted or signalled
/// (SIGTERM/SIGINT/SIGHUP). Unless `foreground`, daemonizes *after* the mount succeeded, so mount
/// errors reach the caller's stderr and the parent exits 0 only once the mount is usable.
/// Returns the exit status (1 with a `shiftoverlay: ...` message on failure).
/// Must run before any Dispatch/Task use in the process (fork).
public func runFuse(engine: OverlayFS, config: FuseMountConfig) -> Int32 {
    var args = fuse_args(argc: 0, argv: nil, allocated: 0)
    defer { fuse_opt_free_args(&args) }
    for a in config.libfuseArguments where fuse_opt_add_arg(&args, a) != 0 {
        DaemonLog.write("out of memory building the libfuse arguments")
        return 1
    }

    let timeout = config.timeout.isFinite && config.timeout >= 0 ? config.timeout : 1.0
    let context = AdapterContext(engine: engine, entryTimeout: timeout, attrTimeout: timeout, posixACL: config.posixACL, writeback: config.writeback,
        passthrough: config.passthrough, readahead: (config.readaheadKiB, config.mountpoint), maxRead: config.maxRead,
        uring: config.uring, uringThreads: config.uringThreads)
    if config.uring == .on { enableUringModuleParameter() }
    let userdata = Unmanaged.passRetained(context)
    defer { userdata.release() }

    var ops = makeOperations()
    guard
        let se = fuse_session_new(
            &args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata.toOpaque())
    else {
        DaemonLog.write("cannot create the FUSE session (options: \(config.fuseOptions.joined(separator: ",")))")
        engine.shutdown()
        return 1
    }
    defer { fuse_session_destroy(se) }
    context.session.store(UInt(bitPattern: se), ordering: .releasing)
    defer { context.session.store(0, ordering: .releasing) }

    if fuse_set_signal_handlers(se) != 0 {
        DaemonLog.write("cannot install signal handlers")
        engine.shutdown()
        return 1
    }
    defer { fuse_remove_signal_handlers(se) }
    // A parent may have spawned us with these blocked (Foundation's Process passes its mask on);
    // then SIGTERM would never end the daemon.
    unblockTerminationSignals()

    // SIGUSR1 (status) is blocked before the mount is visible: a status request that arrives
    // before the status thread runs waits for it instead of killing the daemon (its default).
    StatusSignal.block()
    if fuse_session_mount(se, config.mountpoint) != 0 {
        DaemonLog.write("cannot mount on \(config.mountpoint) (see the fuse: message above)")
        engine.shutdown()
        return 1
    }

    // Before the first request is read (the INIT reply may offer passthrough).
    if !DeviceIO.install(se, context) {
        DaemonLog.write("cannot install the FUSE device I/O; unmounting \(config.mountpoint)")
        fuse_session_unmount(se)
        engine.shutdown()
        return 1
    }

    if !config.foreground && fuse_daemonize(0) != 0 {
        DaemonLog.write("cannot daemonize; unmounting \(config.mountpoint)")
        fuse_session_unmount(se)
        engine.shutdown()
        return 1
    }

    StatusSignal.start(context, syslog: !config.foreground)
    context.startPrefetching(threads: config.prefetchThreads)
    var status = loop(se, threads: config.threads)
    context.stopPrefetching()
    // libfuse 3.14 reports the signal that ended the loop as its number: a requested stop, not
    // a failure. (Errors are negative errno values.)
    if status == SIGTERM || status == SIGINT || status == SIGHUP { status = 0 }

    fuse_session_unmount(se)
    if !context.stopUring() {
        // Ring threads still serve a mount that lives on (lazily unmounted while busy): exit
        // without tearing the session and engine down under them. The kernel ends the
        // connection when the process's descriptors close.
        DaemonLog.write("io_uring threads still serving after the unmount; exiting", level: .warning, syslog: !config.foreground)
        _exit(status == 0 ? 0 : 1)
    }
    engine.shutdown()
    if status != 0 {
        DaemonLog.write("session loop ended with status \(status)", syslog: !config.foreground)
        return 1
    }
    return 0
}

private func loop(_ se: OpaquePointer, threads: Int) -> Int32 {
    if threads <= 1 { return fuse_session_loop(se) }
    guard let cfg = fuse_loop_cfg_create() else { return fuse_session_loop(se) }
    defer { fuse_loop_cfg_destroy(cfg) }
    fuse_loop_cfg_set_clone_fd(cfg, 0)
    fuse_loop_cfg_set_max_threads(cfg, UInt32(clamping: threads))
    return fuse_session_loop_mt(se, cfg)
}

/// Unblocks SIGTERM, SIGINT and SIGHUP in the calling thread (inherited by libfuse's workers).
private func unblockTerminationSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    for sig in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, sig) }
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}
