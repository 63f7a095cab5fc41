// swift-tools-version:5.9
// PAML-Swift: persona-agnostic meta-learned dialogue and a meta-learned conversational recommender.
// Module layout and dependency direction: see README.md ("Module map").
import PackageDescription

/// Release builds target the CPU family the project runs on (Haswell and later x86-64) so that SIMD
/// fused multiply-add is emitted inline; without it FMA becomes per-lane library calls.
/// Debug builds keep -Onone but turn on the optimiser for the numeric kernels only (see `kernelSettings`).
let releaseSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"], .when(platforms: [.linux], configuration: .release)),
]

/// The numeric targets are optimised in debug builds too: `swift test` runs gradient checks on whole
/// Transformers, which take minutes at -Onone and seconds at -O.
let kernelSettings: [SwiftSetting] = releaseSettings + [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "PAML",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "paml", targets: ["paml"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CICU", pkgConfig: "icu-uc", providers: [.apt(["libicu-dev"])]),
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: kernelSettings),
        .target(name: "Autograd", dependencies: ["Tensor"], swiftSettings: kernelSettings),
        .target(name: "NN", dependencies: ["Autograd"], swiftSettings: kernelSettings),
        .target(name: "Text", dependencies: ["Tensor", "CICU"], swiftSettings: kernelSettings),
        .target(name: "Dialogue", dependencies: ["NN", "Text"], swiftSettings: kernelSettings),
        .target(name: "Metrics", swiftSettings: kernelSettings),
        .target(name: "NLI", dependencies: ["NN", "Text"], swiftSettings: kernelSettings),
        .target(name: "Recommender", dependencies: ["NN", "Text"], swiftSettings: kernelSettings),
        .target(name: "MetaLearning", dependencies: ["NN", "Dialogue", "Metrics"], swiftSettings: kernelSettings),
        // The recommender in words: the dialogue model realises its actions (adapted to a voice the PAML way,
        // hence MetaLearning), the NLI model reads replies.
        .target(name: "SpokenRecommender", dependencies: ["Recommender", "Dialogue", "NLI", "MetaLearning"], swiftSettings: kernelSettings),
        // The one library that may import every domain: each cross-domain job (config, run, report). Only paml imports it.
        .target(name: "Experiments", dependencies: ["CBLAS", "Dialogue", "Metrics", "NLI", "Recommender", "MetaLearning", "SpokenRecommender"],
                swiftSettings: kernelSettings),
        .executableTarget(
            name: "paml",
            dependencies: [
                "Tensor", "Autograd", "NN", "Text", "Dialogue", "Metrics", "NLI", "Recommender", "MetaLearning", "SpokenRecommender", "Experiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: releaseSettings
        ),
        .target(name: "TestSupport", dependencies: ["Tensor", "Autograd"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"], exclude: ["References"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"], exclude: ["References"]),
        .testTarget(name: "TextTests", dependencies: ["Text", "TestSupport"], exclude: ["References"]),
        .testTarget(name: "DialogueTests", dependencies: ["Dialogue", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], exclude: ["References"]),
        .testTarget(name: "NLITests", dependencies: ["NLI", "TestSupport"], exclude: ["References"]),
        .testTarget(name: "RecommenderTests", dependencies: ["Recommender", "TestSupport"]),
        .testTarget(name: "SpokenRecommenderTests", dependencies: ["SpokenRecommender", "TestSupport"]),
        .testTarget(name: "MetaLearningTests", dependencies: ["MetaLearning", "TestSupport"]),
        .testTarget(name: "pamlTests", dependencies: ["paml", "TestSupport"]),
    ]
)
