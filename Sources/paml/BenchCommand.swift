import ArgumentParser
import Experiments
import Foundation

/// `paml bench ...`: speed measured against references taken in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks with ratios against references measured in the same run.",
        subcommands: [BenchCore.self, BenchDialogue.self]
    )
}

struct BenchCore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "sgemm GFLOP/s (Tensor.matmul vs raw cblas_sgemm vs numpy) and a Transformer layer forward+backward vs PyTorch CPU.",
        discussion: "Run from the repository root (it calls Evaluation/bench/reference.py). Build with -c release for meaningful numbers."
    )

    @Option(help: "Python interpreter for the references (numpy; torch for the layer comparison).")
    var python = "python3"

    @Option(help: "OpenBLAS threads (the reference machines have 2 cores).")
    var threads = 2

    @Option(help: "Transformer encoder layer shapes as B,T,C,H,F (batch, time, width, heads, feed-forward width).")
    var layers: [String] = ["16,32,300,4,1200", "16,32,300,4,50"]

    @Option(help: "Python with torch for the layer reference (e.g. a venv's bin/python).")
    var torchPython = "python3"

    @Option(help: "sgemm shapes as M,K,N.")
    var shapes: [String] = ["256,256,256", "512,512,512", "1024,1024,1024", "1024,300,1200", "1024,1200,300", "2048,2048,2048"]

    func validate() throws { try OptionCheck.within(threads, 1...256, "--threads") }

    func run() throws {
        var config = CoreBenchmarkConfig()
        (config.python, config.threads, config.layers, config.torchPython, config.shapes) = (python, threads, layers, torchPython, shapes)
        try Benchmarks.core(config)
    }
}
