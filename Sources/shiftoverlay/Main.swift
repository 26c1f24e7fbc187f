import Glibc
import ShiftCLI

/// Synchronous entry point: no Swift concurrency or Dispatch may start before the daemon forks.
@main
struct Main {
    static func main() {
        exit(ShiftCLI.run(CommandLine.arguments))
    }
}
