// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets, apart from the main package so that its build never sees them; built and
// run by scripts/fuzz with `-sanitize=fuzzer` (docs/reliability.md, "Fuzzing"). HeraldRESP is
// no product of the main package, so its sources are linked in here (Sources/HeraldRESP) as a
// module of another name: target names must be unique across the package graph, and the
// main package's executables reach its own HeraldRESP.
let package = Package(
    name: "herald-fuzz",
    dependencies: [
        .package(name: "herald", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(
            name: "FuzzedRESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/HeraldRESP"
        ),
        .executableTarget(
            name: "FuzzFrames",
            dependencies: [
                "CFuzzDriver",
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzAuthRequest",
            dependencies: [
                "CFuzzDriver",
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzRESP",
            dependencies: ["CFuzzDriver", "FuzzedRESP", .product(name: "NIOCore", package: "swift-nio")]
        ),
    ]
)
