import ArgumentParser
import CBLAS
import Foundation
import Autograd
import NN
import Tensor

/// `paml bench ...`: speed measured against references taken in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks with ratios against references measured in the same run.",
        subcommands: [BenchCore.self, BenchDialogue.self]
    )
}

/// Times `body`: repeats it until `minSeconds` have passed, five times, and returns the best
/// seconds per call (the same rule as Evaluation/bench/reference.py, so the ratios are fair).
func bestSeconds(minSeconds: Double = 0.3, rounds: Int = 5, _ body: () -> Void) -> Double {
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
func bestSecondsInterleaved(minSeconds: Double = 0.3, rounds: Int = 5, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
    var (bestA, bestB) = (Double.infinity, Double.infinity)
    for _ in 0..<rounds {
        bestA = min(bestA, bestSeconds(minSeconds: minSeconds, rounds: 1, a))
        bestB = min(bestB, bestSeconds(minSeconds: minSeconds, rounds: 1, b))
    }
    return (bestA, bestB)
}

/// Runs Evaluation/bench/reference.py with `arguments` and decodes its JSON line; nil when python3 or
/// the needed package is missing (the reason is printed).
func runReference(_ arguments: [String], python: String) -> [String: Any]? {
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
        setBLASThreads(threads)
        print("sgemm GFLOP/s, \(threads) OpenBLAS threads (best of 5 runs of >= 0.3 s each)")
        // The references run in another process: measure them before and after ours and keep the best,
        // so a passing load spike does not decide the ratio.
        let referenceBefore = runReference(["sgemm"] + shapes, python: python)
        print(column("shape M,K,N", 18) + column("Tensor.matmul", 15, right: true) + column("cblas_sgemm", 14, right: true)
              + column("numpy", 8, right: true) + column("ours/cblas", 12, right: true) + column("ours/numpy", 12, right: true))
        var rng = SeededGenerator(seed: 0)
        var rows: [(shape: String, ours: Double, raw: Double)] = []
        for shape in shapes {
            let dims = shape.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 3 else { throw ValidationError("shape '\(shape)' is not M,K,N") }
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
        let referenceAfter = runReference(["sgemm"] + shapes, python: python)
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
        try benchmarkLayers()
    }

    /// One pre-norm Transformer encoder layer, forward + backward of sum(output), ours vs PyTorch's
    /// nn.TransformerEncoderLayer(norm_first=True, dropout=0, ReLU) on the same shapes and thread count.
    /// Ours has no attention-projection biases (as in PAML); PyTorch's has them: a few extra adds for torch.
    func benchmarkLayers() throws {
        print("Transformer encoder layer forward+backward, ms (best of 5 runs of >= 0.3 s each)")
        print(column("B,T,C,H,F", 20) + column("ours ms", 10, right: true) + column("torch ms", 10, right: true)
              + column("torch/ours", 12, right: true) + column("tokens/s ours", 15, right: true))
        var torchVersion: String?
        for shape in layers {
            let dims = shape.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 5 else { throw ValidationError("layer shape '\(shape)' is not B,T,C,H,F") }
            let (batch, time, width, heads, filter) = (dims[0], dims[1], dims[2], dims[3], dims[4])
            let config = TransformerConfig(layers: 1, width: width, heads: heads, keyDepth: width, valueDepth: width,
                                           filterSize: filter)
            let layer = TransformerEncoderLayer(name: "layer", config: config)
            var rng = SeededGenerator(seed: 0)
            var parameters = Parameters()
            layer.initialize(into: &parameters, using: &rng)
            let input = Tensor.randomNormal([batch, time, width], using: &rng)
            let seconds = bestSeconds {
                _ = valueAndGradient(at: parameters) { g in
                    layer(g, g.tape.leaf(input, requiresGrad: true), padding: nil).sum()  // input gradient too, as torch
                }
            }
            let reference = runReference(["transformer-layer"] + dims.map(String.init), python: torchPython)
            let again = reference == nil ? nil : runReference(["transformer-layer"] + dims.map(String.init), python: torchPython)
            let torchMs = [reference, again].compactMap { $0?["forward_backward_ms"] as? Double }.min()
            torchVersion = torchVersion ?? reference?["torch"] as? String
            print(column(shape, 20) + column(String(format: "%.2f", seconds * 1e3), 10, right: true)
                  + column(torchMs.map { String(format: "%.2f", $0) } ?? "n/a", 10, right: true)
                  + column(torchMs.map { String(format: "%.3f", $0 / (seconds * 1e3)) } ?? "n/a", 12, right: true)
                  + column(String(format: "%.0f", Double(batch * time) / seconds), 15, right: true))
        }
        if let torchVersion { print("torch \(torchVersion)") }
    }
}

/// Pads `text` to `width` characters (right-aligned when `right`), for the benchmark tables.
func column(_ text: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}
