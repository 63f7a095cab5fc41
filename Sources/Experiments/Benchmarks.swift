import CBLAS
import Dialogue
import Foundation
import Autograd
import NN
import Tensor
import Text

// Benchmarks of `paml bench`: speed measured against references taken in the same run (raw cblas_sgemm, numpy,
// PyTorch CPU through Evaluation/bench/reference.py). They print their tables as they go.

public struct CoreBenchmarkConfig: Codable, Sendable {
    public var python = "python3"
    public var threads = 2
    /// Transformer encoder layer shapes as B,T,C,H,F.
    public var layers = ["16,32,300,4,1200", "16,32,300,4,50"]
    public var torchPython = "python3"
    /// sgemm shapes as M,K,N.
    public var shapes = ["256,256,256", "512,512,512", "1024,1024,1024", "1024,300,1200", "1024,1200,300", "2048,2048,2048"]
    public init() {}
}

public struct DialogueBenchmarkConfig: Codable, Sendable {
    public var batch = 32, sourceLength = 64, targetLength = 16, vocabulary = 5200, layers = 6, width = 300, heads = 4
    public var depth = 40, filter = 50, embedding = 50, beam = 5, steps = 20, threads = 2
    public var torchPython = "python3"
    public init() {}
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String
}

public enum Benchmarks {
    /// Times `body`: repeats it until `minSeconds` have passed, five times, and returns the best
    /// seconds per call (the same rule as Evaluation/bench/reference.py, so the ratios are fair).
    static func bestSeconds(minSeconds: Double = 0.3, rounds: Int = 5, _ body: () -> Void) -> Double {
        body()  // warm-up
        var best = Double.infinity
        for _ in 0..<rounds {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                body()
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < minSeconds
            best = min(best, elapsed / Double(calls))
        }
        return best
}

    /// Times two bodies in alternation (a, b, a, b, ...) so that load changes hit both alike; returns the
    /// best seconds per call of each.
    static func bestSecondsInterleaved(minSeconds: Double = 0.3, rounds: Int = 5, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
        var (bestA, bestB) = (Double.infinity, Double.infinity)
        for _ in 0..<rounds {
            bestA = min(bestA, bestSeconds(minSeconds: minSeconds, rounds: 1, a))
            bestB = min(bestB, bestSeconds(minSeconds: minSeconds, rounds: 1, b))
        }
        return (bestA, bestB)
}

    /// Runs Evaluation/bench/reference.py with `arguments` and decodes its JSON line; nil when python3 or
    /// the needed package is missing (the reason is printed).
    static func runReference(_ arguments: [String], python: String) -> [String: Any]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "Evaluation/bench/reference.py"] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            print("  reference skipped: cannot run \(python): \(error)")
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            let reason = errorText.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            print("  reference skipped (\(arguments.first ?? "")): \(reason)")
            return nil
        }
        return json
}

    public static func core(_ config: CoreBenchmarkConfig) throws {
        setBLASThreads(config.threads)
        print("sgemm GFLOP/s, \(config.threads) OpenBLAS config.threads (best of 5 runs of >= 0.3 s each)")
        // The references run in another process: measure them before and after ours and keep the best,
        // so a passing load spike does not decide the ratio.
        let referenceBefore = runReference(["sgemm"] + config.shapes, python: config.python)
        print(column("shape M,K,N", 18) + column("Tensor.matmul", 15, right: true) + column("cblas_sgemm", 14, right: true)
              + column("numpy", 8, right: true) + column("ours/cblas", 12, right: true) + column("ours/numpy", 12, right: true))
        var rng = SeededGenerator(seed: 0)
        var rows: [(shape: String, ours: Double, raw: Double)] = []
        for shape in config.shapes {
            let dims = shape.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 3 else { throw BenchmarkError(description: "shape '\(shape)' is not M,K,N") }
            let (m, k, n) = (dims[0], dims[1], dims[2])
            let a = Tensor.randomNormal([m, k], using: &rng)
            let b = Tensor.randomNormal([k, n], using: &rng)
            let flops = 2.0 * Double(m * n * k)
            var c = [Float](repeating: 0, count: m * n)
            let (oursSeconds, rawSeconds) = bestSecondsInterleaved({ _ = Tensor.matmul(a, b) }, {
                a.scalars.withUnsafeBufferPointer { pa in
                    b.scalars.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                        pa.baseAddress, Int32(k), pb.baseAddress, Int32(n), 0, pc.baseAddress, Int32(n))
                        }
                    }
                }
            })
            rows.append((shape, flops / oursSeconds / 1e9, flops / rawSeconds / 1e9))
        }
        let referenceAfter = runReference(["sgemm"] + config.shapes, python: config.python)
        for (shape, ours, raw) in rows {
            let numpy = [referenceBefore, referenceAfter].compactMap { $0?[shape] as? Double }.max()
            print(column(shape, 18) + column(String(format: "%.1f", ours), 15, right: true)
                  + column(String(format: "%.1f", raw), 14, right: true)
                  + column(numpy.map { String(format: "%.1f", $0) } ?? "n/a", 8, right: true)
                  + column(String(format: "%.3f", ours / raw), 12, right: true)
                  + column(numpy.map { String(format: "%.3f", ours / $0) } ?? "n/a", 12, right: true))
        }
        if let version = referenceBefore?["numpy"] as? String { print("numpy \(version)") }
        print("")
        try benchmarkLayers(config)
    }

    /// One pre-norm Transformer encoder layer, forward + backward of sum(output), ours vs PyTorch's
    /// nn.TransformerEncoderLayer(norm_first=True, dropout=0, ReLU) on the same shapes and thread count.
    /// Ours has no attention-projection biases (as in PAML); PyTorch's has them: a few extra adds for torch.
    static func benchmarkLayers(_ config: CoreBenchmarkConfig) throws {
        print("Transformer encoder layer forward+backward, ms (best of 5 runs of >= 0.3 s each)")
        print(column("B,T,C,H,F", 20) + column("ours ms", 10, right: true) + column("torch ms", 10, right: true)
              + column("torch/ours", 12, right: true) + column("tokens/s ours", 15, right: true))
        var torchVersion: String?
        for shape in config.layers {
            let dims = shape.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 5 else { throw BenchmarkError(description: "layer shape '\(shape)' is not B,T,C,H,F") }
            let (batch, time, width, heads, filter) = (dims[0], dims[1], dims[2], dims[3], dims[4])
            let layerConfig = TransformerConfig(layers: 1, width: width, heads: heads, keyDepth: width, valueDepth: width,
                                                filterSize: filter)
            let layer = TransformerEncoderLayer(name: "layer", config: layerConfig)
            var rng = SeededGenerator(seed: 0)
            var parameters = Parameters()
            layer.initialize(into: &parameters, using: &rng)
            let input = Tensor.randomNormal([batch, time, width], using: &rng)
            let seconds = bestSeconds {
                _ = valueAndGradient(at: parameters) { g in
                    layer(g, g.tape.leaf(input, requiresGrad: true), padding: nil).sum()  // input gradient too, as torch
                }
            }
            let reference = runReference(["transformer-layer"] + dims.map(String.init), python: config.torchPython)
            let again = reference == nil ? nil : runReference(["transformer-layer"] + dims.map(String.init), python: config.torchPython)
            let torchMs = [reference, again].compactMap { $0?["forward_backward_ms"] as? Double }.min()
            torchVersion = torchVersion ?? reference?["torch"] as? String
            print(column(shape, 20) + column(String(format: "%.2f", seconds * 1e3), 10, right: true)
                  + column(torchMs.map { String(format: "%.2f", $0) } ?? "n/a", 10, right: true)
                  + column(torchMs.map { String(format: "%.3f", $0 / (seconds * 1e3)) } ?? "n/a", 12, right: true)
                  + column(String(format: "%.0f", Double(batch * time) / seconds), 15, right: true))
        }
        if let torchVersion { print("torch \(torchVersion)") }
    }

    /// Pads `text` to `width` characters (right-aligned when `right`), for the benchmark tables.
    static func column(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    public static func dialogue(_ config: DialogueBenchmarkConfig) throws {
        setBLASThreads(config.threads)
        let modelConfig = Seq2SeqConfig(
            vocabularySize: config.vocabulary, embeddingWidth: config.embedding,
            transformer: TransformerConfig(layers: config.layers, width: config.width, heads: config.heads, keyDepth: config.depth,
                                           valueDepth: config.depth, filterSize: config.filter),
            labelSmoothing: 0.1)
        let model = Seq2Seq(config: modelConfig)
        var parameters = model.initialParameters(seed: 0)
        var rng = SeededGenerator(seed: 0)
        func tokens(_ count: Int) -> [Int] {
            (0..<count).map { _ in 4 + Int(rng.nextUniform() * Float(config.vocabulary - 4)) % (config.vocabulary - 4) }
        }
        let sources = (0..<config.batch).map { _ in tokens(config.sourceLength) }
        let responses = (0..<config.batch).map { _ in tokens(config.targetLength - 1) }
        let data = Seq2SeqBatch(sources: sources, responses: responses)   // [B, S] and [B, T]
        print("Dialogue model: B \(config.batch), S \(config.sourceLength), T \(config.targetLength), V \(config.vocabulary), \(config.layers)+\(config.layers) config.layers, "
              + "C \(config.width), H \(config.heads), key/value config.depth \(config.depth), F \(config.filter), E \(config.embedding); "
              + "\(parameters.scalarCount) parameters; \(config.threads) config.threads (best of 5 runs of >= 0.3 s each)")

        let referenceArguments = ["seq2seq"] + [config.batch, config.sourceLength, config.targetLength, config.vocabulary, config.layers, config.width, config.heads, config.depth,
                                                config.filter, config.embedding, config.threads, config.beam, config.steps,
                                                parameters.scalarCount].map(String.init)
        // PyTorch runs in another process, before and after ours; the best of each figure is kept.
        let before = runReference(referenceArguments, python: config.torchPython)

        var adam = Adam(learningRate: 1e-4)
        let trainSeconds = bestSeconds {
            let (_, gradients) = model.lossAndGradient(at: parameters, batch: data)   // as `paml train` does
            adam.update(&parameters, gradients: gradients)
        }
        let options = DecodingOptions(maxLength: config.steps, minLength: config.steps)
        let source = sources[0]
        let beamSeconds = bestSeconds {
            _ = model.generate(parameters: parameters, source: source, strategy: .beam(size: config.beam), options: options)
        }
        let greedySeconds = bestSeconds {
            _ = model.generate(parameters: parameters, source: source, strategy: .greedy, options: options)
        }
        let after = before == nil ? nil : runReference(referenceArguments, python: config.torchPython)
        let references = [before, after].compactMap { $0 }
        func torchBest(_ key: String, higherIsBetter: Bool) -> Double? {
            let values = references.compactMap { $0[key] as? Double }
            return higherIsBetter ? values.max() : values.min()
        }

        let targetTokens = Double(data.targetTokenCount)
        let allTokens = targetTokens + Double(config.batch * config.sourceLength)
        let rows: [(String, Double, Double?, Bool)] = [
            ("train step ms", trainSeconds * 1e3, torchBest("train_step_ms", higherIsBetter: false), false),
            ("target tokens/s", targetTokens / trainSeconds, torchBest("target_tokens_per_s", higherIsBetter: true), true),
            ("source+target tokens/s", allTokens / trainSeconds, torchBest("tokens_per_s", higherIsBetter: true), true),
            ("beam-\(config.beam) ms/response", beamSeconds * 1e3, torchBest("beam_ms", higherIsBetter: false), false),
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
