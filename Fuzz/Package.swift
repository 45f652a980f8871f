// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets, apart from the main package so that its build never sees them; built and
// run by scripts/fuzz with `-sanitize=fuzzer` (docs/reliability.md, "Fuzzing"). HeraldRESP is
// no product of the main package, so its sources are linked in here (Sources/HeraldRESP) as a
// module of another name: target names must be unique across the package graph, and the
// main package's executables reach its own HeraldRESP. The WebSocket frame parser and the
// HTTP batch reader are internal to modules whose other dependencies (Hummingbird, the
// gateway's listeners) would only slow the build: their files are linked into the targets
// that fuzz them (symbolic links in Sources/FuzzWebSocket and Sources/FuzzBatchBody).
let package = Package(
    name: "herald-fuzz",
    dependencies: [
        .package(name: "herald", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzDriver", dependencies: ["CFuzzDriver", .product(name: "NIOCore", package: "swift-nio")]),
        .target(
            name: "FuzzedRESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/HeraldRESP"
        ),
        .executableTarget(
            name: "FuzzFrames",
            dependencies: [
                "FuzzDriver",
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzAuthRequest",
            dependencies: [
                "FuzzDriver",
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzRESP",
            dependencies: ["FuzzDriver", "FuzzedRESP", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "FuzzWebSocket",
            dependencies: [
                "FuzzDriver",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzToken",
            dependencies: [
                "FuzzDriver",
                .product(name: "HeraldCore", package: "herald"),
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "FuzzBatchBody",
            dependencies: [
                "FuzzDriver",
                .product(name: "HeraldCore", package: "herald"),
                .product(name: "HeraldWire", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
)
