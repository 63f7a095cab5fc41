import ArgumentParser
import Foundation
import Autograd
import Dialogue
import NN
import Tensor
import Text

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
    var torchPython = "/work/torchenv/bin/python"

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
        setBLASThreads(threads)
        let config = Seq2SeqConfig(
            vocabularySize: vocabulary, embeddingWidth: embedding,
            transformer: TransformerConfig(layers: layers, width: width, heads: heads, keyDepth: depth,
                                           valueDepth: depth, filterSize: filter),
            labelSmoothing: 0.1)
        let model = Seq2Seq(config: config)
        var parameters = model.initialParameters(seed: 0)
        var rng = SeededGenerator(seed: 0)
        func tokens(_ count: Int) -> [Int] {
            (0..<count).map { _ in 4 + Int(rng.nextUniform() * Float(vocabulary - 4)) % (vocabulary - 4) }
        }
        let sources = (0..<batch).map { _ in tokens(sourceLength) }
        let responses = (0..<batch).map { _ in tokens(targetLength - 1) }
        let data = Seq2SeqBatch(sources: sources, responses: responses)   // [B, S] and [B, T]
        print("Dialogue model: B \(batch), S \(sourceLength), T \(targetLength), V \(vocabulary), \(layers)+\(layers) layers, "
              + "C \(width), H \(heads), key/value depth \(depth), F \(filter), E \(embedding); "
              + "\(parameters.scalarCount) parameters; \(threads) threads (best of 5 runs of >= 0.3 s each)")

        let referenceArguments = ["seq2seq"] + [batch, sourceLength, targetLength, vocabulary, layers, width, heads, depth,
                                                filter, embedding, threads, beam, steps,
                                                parameters.scalarCount].map(String.init)
        // PyTorch runs in another process, before and after ours; the best of each figure is kept.
        let before = runReference(referenceArguments, python: torchPython)

        var adam = Adam(learningRate: 1e-4)
        let trainSeconds = bestSeconds {
            let (_, gradients) = model.lossAndGradient(at: parameters, batch: data)   // as `paml train` does
            adam.update(&parameters, gradients: gradients)
        }
        let options = DecodingOptions(maxLength: steps, minLength: steps)
        let source = sources[0]
        let beamSeconds = bestSeconds {
            _ = model.generate(parameters: parameters, source: source, strategy: .beam(size: beam), options: options)
        }
        let greedySeconds = bestSeconds {
            _ = model.generate(parameters: parameters, source: source, strategy: .greedy, options: options)
        }
        let after = before == nil ? nil : runReference(referenceArguments, python: torchPython)
        let references = [before, after].compactMap { $0 }
        func torchBest(_ key: String, higherIsBetter: Bool) -> Double? {
            let values = references.compactMap { $0[key] as? Double }
            return higherIsBetter ? values.max() : values.min()
        }

        let targetTokens = Double(data.targetTokenCount)
        let allTokens = targetTokens + Double(batch * sourceLength)
        let rows: [(String, Double, Double?, Bool)] = [
            ("train step ms", trainSeconds * 1e3, torchBest("train_step_ms", higherIsBetter: false), false),
            ("target tokens/s", targetTokens / trainSeconds, torchBest("target_tokens_per_s", higherIsBetter: true), true),
            ("source+target tokens/s", allTokens / trainSeconds, torchBest("tokens_per_s", higherIsBetter: true), true),
            ("beam-\(beam) ms/response", beamSeconds * 1e3, torchBest("beam_ms", higherIsBetter: false), false),
            ("greedy ms/response", greedySeconds * 1e3, torchBest("greedy_ms", higherIsBetter: false), false),
        ]
        print(column("", 26) + column("ours", 12, right: true) + column("torch", 12, right: true)
              + column("speed ours/torch", 18, right: true))
        for (label, ours, torch, higherIsBetter) in rows {
            let ratio = torch.map { higherIsBetter ? ours / $0 : $0 / ours }
            print(column(label, 26) + column(String(format: "%.1f", ours), 12, right: true)
                  + column(torch.map { String(format: "%.1f", $0) } ?? "n/a", 12, right: true)
                  + column(ratio.map { String(format: "%.3f", $0) } ?? "n/a", 18, right: true))
        }
        if let version = before?["torch"] as? String { print("torch \(version)") }
    }
}
