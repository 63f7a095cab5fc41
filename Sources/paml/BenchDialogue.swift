import ArgumentParser
import Experiments
import NN
import Tensor
import Foundation

/// `paml bench dialogue`: the whole dialogue model (Seq2Seq, PAML sizes by default) against the same
/// model written in PyTorch (Evaluation/bench/reference.py `seq2seq`), on one synthetic batch:
/// a training step (forward, label-smoothed loss, backward, Adam) and beam-5 / greedy generation.
struct BenchDialogue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialogue",
        abstract: "Dialogue model training tokens/s and beam-5/greedy latency vs the same model in PyTorch CPU.",
        discussion: """
        Run from the repository root (it calls Evaluation/bench/reference.py). Build with -c release.
        The batch has B sources of S tokens (no padding) and B responses of T - 1 tokens (+ EOS: T target
        tokens each). Generation decodes one source of S tokens for 20 steps with EOS forbidden, so every
        run takes all 20 steps; both sides keep a KV cache. Ratios > 1 mean ours is faster.
        """
    )

    @Option(help: "Batch size B.") var batch = 32
    @Option(help: "Source tokens S per example.") var sourceLength = 64
    @Option(help: "Target tokens T per example (response + EOS).") var targetLength = 16
    @Option(help: "Vocabulary size V.") var vocabulary = 5200
    @Option(help: "Layers per stack (encoder and decoder).") var layers = 6
    @Option(help: "Model width C.") var width = 300
    @Option(help: "Attention heads H.") var heads = 4
    @Option(help: "Total key/value depth over all heads.") var depth = 40
    @Option(help: "Feed-forward width F.") var filter = 50
    @Option(help: "Embedding width E.") var embedding = 50
    @Option(help: "Beam size for the beam-search latency.") var beam = 5
    @Option(help: "Generation steps (EOS forbidden before the last).") var steps = 20
    @Option(help: "OpenBLAS and PyTorch threads.") var threads = 2
    @Option(help: "Python with torch for the reference (e.g. a venv's bin/python).")
    var torchPython = "python3"

    func validate() throws {
        try OptionCheck.within(batch, 1...4096, "--batch")
        try OptionCheck.within(sourceLength, 1...4096, "--source-length")
        try OptionCheck.within(targetLength, 2...1024, "--target-length")
        try OptionCheck.within(vocabulary, 5...2_000_000, "--vocabulary")
        try OptionCheck.within(embedding, 1...4096, "--embedding")
        try OptionCheck.within(beam, 1...64, "--beam")
        try OptionCheck.within(steps, 1...1000, "--steps")
        try OptionCheck.within(threads, 1...256, "--threads")
        do {
            try TransformerConfig(layers: layers, width: width, heads: heads, keyDepth: depth, valueDepth: depth,
                                  filterSize: filter).validate()
        } catch let error as ConfigError {
            throw ValidationError("\(error.field.replacingOccurrences(of: "transformer.", with: "--")) \(error.value): must be \(error.allowed)")
        }
    }

    func run() throws {
        var config = DialogueBenchmarkConfig()
        (config.batch, config.sourceLength, config.targetLength, config.vocabulary) = (batch, sourceLength, targetLength, vocabulary)
        (config.layers, config.width, config.heads, config.depth, config.filter) = (layers, width, heads, depth, filter)
        (config.embedding, config.beam, config.steps, config.threads, config.torchPython) = (embedding, beam, steps, threads, torchPython)
        try Benchmarks.dialogue(config)
    }
}
