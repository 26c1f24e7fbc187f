import Glibc

let usage = """
    usage: shiftoverlay-bench micro [N]
               in-process engine micro-benchmarks on the memory layer (N files, default 10000)
           shiftoverlay-bench mounts [--quick] [--rounds R] [--systems shiftoverlay,kernel,fuse-overlayfs]
                                     [--binary PATH] [--rootfs DIR] [--workloads NAME,...] [--cache DIR]
               real mounts over the same layers, workloads from issue 7 (root; re-runs itself in a
               private mount namespace); also shiftoverlay-metacopy and kernel-metacopy (metacopy=on)
    """

@main
struct Bench {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        let command = args.first ?? "micro"
        do {
            switch command {
            case "micro":
                args = Array(args.dropFirst())
                try Micro.run(args.first.flatMap { Int($0) } ?? 10_000)
            case "mounts":
                let options = try MountOptions.parse(Array(args.dropFirst()))
                try Runner(options).execute()
            case "-h", "--help", "help":
                print(usage)
            default:
                if let n = Int(command) {  // the old form: shiftoverlay-bench N
                    try Micro.run(n)
                } else {
                    print(usage)
                    exit(2)
                }
            }
        } catch {
            print("shiftoverlay-bench: \(error)")
            exit(1)
        }
    }
}
