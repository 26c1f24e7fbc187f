// swift-tools-version:6.0
import Foundation
import PackageDescription

// Every Swift target that (transitively) imports a C module built from glibc headers gets the
// same _GNU_SOURCE define, so Clang builds SwiftGlibc and our C modules identically
// (see SWIFT-LIBFUSE-NOTES.md §1: defining it inside a module header breaks clean builds).
let gnu: [CSetting] = [.define("_GNU_SOURCE")]
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

// Release builds also link GCC's libstdc++.a (the C++ runtime the Swift runtime needs) into the
// binary, so a mount does not load the 2 MB libstdc++.so: with the page cache dropped,
// `shiftoverlay --version` takes ~6 ms instead of ~9.5 ms here (a cold mount 18-20 -> 16 ms). The archive is a link input; `StaticCxx/libstdc++.so`, an empty
// linker script found first on the search path, turns the toolchain's own `-lstdc++` into nothing.
// Only the build machine's own GCC directory is searched (a multiarch i386 archive would not
// link); without a libstdc++.a there, or with SHIFTOVERLAY_SHARED_LIBSTDCXX=1 in the environment
// (cross builds with --swift-sdk), libstdc++.so is linked as usual.
let staticCxx: [String] = {
    #if arch(x86_64)
        let machine: String? = "x86_64-linux-gnu"
    #elseif arch(arm64)
        let machine: String? = "aarch64-linux-gnu"
    #else
        let machine: String? = nil
    #endif
    guard let triple = machine, ProcessInfo.processInfo.environment["SHIFTOVERLAY_SHARED_LIBSTDCXX"] != "1" else {
        return []
    }
    let dir = "/usr/lib/gcc/" + triple
    let fm = FileManager.default
    var best: (version: [Int], path: String)?
    for v in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
        let path = "\(dir)/\(v)/libstdc++.a"
        let version = v.split(separator: ".").compactMap { Int($0) }
        guard !version.isEmpty, fm.fileExists(atPath: path) else { continue }
        if best.map({ version.lexicographicallyPrecedes($0.version) }) ?? false { continue }
        best = (version, path)
    }
    guard let archive = best?.path else { return [] }
    return [archive, "-L", Context.packageDirectory + "/Sources/shiftoverlay/StaticCxx"]
}()

let package = Package(
    name: "shiftoverlay",
    products: [
        .executable(name: "shiftoverlay", targets: ["shiftoverlay"]),
        .executable(name: "shiftoverlay-bench", targets: ["shiftoverlay-bench"]),
        .executable(name: "shiftoverlay-difftest", targets: ["shiftoverlay-difftest"]),
    ],
    targets: [
        // C headers only: libfuse3 (low-level API) and the Linux calls Swift's Glibc lacks.
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CLinux"),

        // The contracts: errno, byte names/paths, stat, the Layer protocols. No I/O.
        .target(name: "LayerAPI", swiftSettings: strict),
        // The one place that calls the kernel for layer access.
        .target(name: "Sys", dependencies: ["LayerAPI", "CLinux"], cSettings: gnu, swiftSettings: strict),
        .target(name: "PosixLayer", dependencies: ["LayerAPI", "Sys"], cSettings: gnu, swiftSettings: strict),
        .target(name: "MemoryLayer", dependencies: ["LayerAPI"], swiftSettings: strict),
        // The overlay itself: lookup, copy-up, whiteouts, readdir merge, id mapping. Layer API only.
        .target(name: "OverlayEngine", dependencies: ["LayerAPI"], swiftSettings: strict),
        // libfuse3 low-level ops -> engine calls -> replies. No overlay decisions.
        .target(name: "FuseAdapter", dependencies: ["CFuse", "OverlayEngine", "LayerAPI", "Sys"], cSettings: gnu,
                swiftSettings: strict),
        // Command line (fuse-overlayfs grammar), validation, mount plan.
        .target(name: "ShiftCLI", dependencies: ["OverlayEngine", "PosixLayer", "FuseAdapter", "LayerAPI", "Sys"],
                cSettings: gnu, swiftSettings: strict),
        // Release builds link the Swift runtime statically: a mount then maps 6 shared objects instead
        // of 15, which halves the cold start (the `mount` a container runtime waits for; see README).
        // Not in debug: the test bundle links this target too, and with XCTest's Foundation a static
        // runtime needs ICU symbols the toolchain's static Foundation lacks.
        .executableTarget(name: "shiftoverlay", dependencies: ["ShiftCLI"], exclude: ["StaticCxx"], cSettings: gnu,
                          swiftSettings: strict,
                          linkerSettings: [.unsafeFlags(["-static-stdlib"] + staticCxx, .when(configuration: .release))]),
        .executableTarget(name: "shiftoverlay-bench",
                          dependencies: ["OverlayEngine", "MemoryLayer", "PosixLayer", "LayerAPI", "ChildProcess"],
                          path: "Benchmarks/shiftoverlay-bench", cSettings: gnu, swiftSettings: strict),
        // Child processes for tests and tools (spawned with a clean signal mask, signalled by PID).
        .target(name: "ChildProcess", path: "Tools/ChildProcess", swiftSettings: strict),
        // Differential tester: random operations on shiftoverlay and kernel overlayfs, compared.
        .target(name: "DiffTest", dependencies: ["CLinux", "ChildProcess"], path: "Tools/DiffTest", cSettings: gnu,
                swiftSettings: strict),
        .executableTarget(name: "shiftoverlay-difftest", dependencies: ["DiffTest"],
                          path: "Tools/shiftoverlay-difftest", cSettings: gnu, swiftSettings: strict),

        .testTarget(name: "LayerConformanceTests", dependencies: ["LayerAPI", "PosixLayer", "MemoryLayer", "Sys"],
                    cSettings: gnu),
        .testTarget(name: "EngineTests", dependencies: ["OverlayEngine", "MemoryLayer", "LayerAPI"]),
        .testTarget(name: "CLITests", dependencies: ["ShiftCLI", "OverlayEngine", "LayerAPI"], cSettings: gnu),
        .testTarget(name: "IntegrationTests", dependencies: ["shiftoverlay", "DiffTest", "ChildProcess", "Sys"], cSettings: gnu),
    ]
)
