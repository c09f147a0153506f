// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "SwitchGym",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchgym", targets: ["switchgym"]),
        .library(name: "SwitchGymCore", targets: ["SwitchGymCore"]),
        .library(name: "SwitchGymIO", targets: ["SwitchGymIO"]),
        .library(name: "SwitchGymData", targets: ["SwitchGymData"]),
        .library(name: "SwitchGymNN", targets: ["SwitchGymNN"]),
        .library(name: "SwitchGymEnvs", targets: ["SwitchGymEnvs"]),
        .library(name: "SwitchGymAgents", targets: ["SwitchGymAgents"]),
        .library(name: "SwitchGymTestSupport", targets: ["SwitchGymTestSupport"]),
        .library(name: "SwitchGymONNX", targets: ["SwitchGymONNX"]),
        .library(name: "SwitchGymServe", targets: ["SwitchGymServe"]),
        // The C ABI of the envs (libSwitchGymC.so / .dylib) for the Python binding (python/).
        .library(name: "SwitchGymC", type: .dynamic, targets: ["SwitchGymCABI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: C libraries (not API: only the Swift wrappers may import these)
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // Header-only: SHA-256 with the x86 SHA extensions (checked at run time).
        .systemLibrary(name: "CSHA256"),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),

        // MARK: Library modules
        .target(name: "SwitchGymIO", dependencies: ["CHDF5", "CZstd", "CZlib", "CSHA256"]),
        .target(name: "SwitchGymCore"),
        .target(name: "SwitchGymData", dependencies: ["SwitchGymIO", "SwitchGymCore"]),
        .target(name: "SwitchGymNN", dependencies: ["CBLAS", "SwitchGymCore"]),
        // Serving scenarios (TOML specs), their reduction to EmploymentSearch, the serving envs,
        // dispatch (R-JIQ, POP, LP bound) and the interference predictor.
        .target(name: "SwitchGymEnvs", dependencies: [
            "SwitchGymCore", "SwitchGymData", "SwitchGymIO",
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        // PPO, DQN, baselines, checkpoints and metrics (CSV, TensorBoard).
        .target(name: "SwitchGymAgents", dependencies: ["SwitchGymCore", "SwitchGymNN", "SwitchGymIO", "SwitchGymEnvs"]),
        // ONNX export of frozen policies; the only module that compiles the generated ONNX
        // protobuf code (onnx.pb.swift, see its PROVENANCE file).
        .target(name: "SwitchGymONNX", dependencies: [
            "SwitchGymAgents", "SwitchGymEnvs", "SwitchGymNN", "SwitchGymCore", "SwitchGymIO",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["onnx.proto.PROVENANCE.md"]),
        // The reference serving daemon: policy registry (versions, atomic hot swap, state file),
        // the decide path (telemetry -> observation -> action) and its Hummingbird HTTP layer.
        .target(name: "SwitchGymServe", dependencies: [
            "SwitchGymCore", "SwitchGymIO", "SwitchGymEnvs", "SwitchGymAgents",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The C ABI over the envs (@_cdecl functions, documented in switchgym_c.h): create from an
        // id or a scenario spec, bind caller-owned buffers, reset, step, close.
        .target(name: "SwitchGymCABI", dependencies: ["SwitchGymCore", "SwitchGymData", "SwitchGymEnvs"], exclude: ["switchgym_c.h"]),
        // Counts malloc calls per thread (Linux glibc interposition); not API.
        .target(name: "CAllocationCounter"),
        // The C99 runtime of exported policy files (docs/policy-format.md; libc + libm only).
        // Also builds on its own: runtime/c/Makefile, runtime/c/README.md.
        .target(name: "CSwitchGymPolicy", path: "runtime/c", sources: ["switchgym_policy.c"],
                publicHeadersPath: "include", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        // Env checker, env benchmark (with allocation counting) and extreme-spec generator for tests and `bench`.
        .target(name: "SwitchGymTestSupport", dependencies: ["SwitchGymCore", "SwitchGymEnvs", "CAllocationCounter"]),

        // MARK: Executable
        .executableTarget(
            name: "switchgym",
            dependencies: [
                "SwitchGymCore", "SwitchGymData", "SwitchGymIO", "SwitchGymNN",
                "SwitchGymTestSupport", "SwitchGymEnvs", "SwitchGymAgents", "SwitchGymONNX", "SwitchGymServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: Tests
        .testTarget(name: "SwitchGymCoreTests", dependencies: ["SwitchGymCore", "SwitchGymTestSupport"]),
        .testTarget(name: "SwitchGymIOTests", dependencies: ["SwitchGymIO"]),
        .testTarget(name: "SwitchGymDataTests", dependencies: ["SwitchGymData", "SwitchGymIO", "SwitchGymCore"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SwitchGymEnvsTests",
                    dependencies: ["SwitchGymEnvs", "SwitchGymCore", "SwitchGymData", "SwitchGymTestSupport"]),
        .testTarget(name: "SwitchGymNNTests", dependencies: ["SwitchGymNN", "SwitchGymCore"]),
        .testTarget(name: "SwitchGymAgentsTests",
                    dependencies: ["SwitchGymAgents", "SwitchGymNN", "SwitchGymCore", "SwitchGymIO", "SwitchGymEnvs"]),
        .testTarget(name: "SwitchGymONNXTests",
                    dependencies: ["SwitchGymONNX", "SwitchGymAgents", "SwitchGymNN", "SwitchGymCore", "SwitchGymEnvs", "SwitchGymIO",
                                   .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "SwitchGymPolicyRuntimeTests",
                    dependencies: ["CSwitchGymPolicy", "SwitchGymAgents", "SwitchGymEnvs", "SwitchGymIO", "SwitchGymNN", "SwitchGymCore",
                                   "SwitchGymTestSupport"]),
        .testTarget(name: "SwitchGymServeTests",
                    dependencies: ["SwitchGymServe", "SwitchGymAgents", "SwitchGymNN", "SwitchGymCore", "SwitchGymIO", "SwitchGymEnvs",
                                   .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "SwitchGymCABITests", dependencies: ["SwitchGymCABI", "SwitchGymCore", "SwitchGymTestSupport"]),
        // Inputs that crashed a fuzz target (Scripts/fuzz.sh), replayed.
        .testTarget(name: "SwitchGymFuzzRegressionTests",
                    dependencies: ["SwitchGymAgents", "SwitchGymData", "SwitchGymEnvs", "SwitchGymIO"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SwitchGymCLITests", dependencies: ["SwitchGymData", "SwitchGymIO", "SwitchGymCore", "SwitchGymEnvs",
                                                       "SwitchGymTestSupport"]),
    ]
)
