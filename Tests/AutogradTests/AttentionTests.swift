import Foundation
import XCTest
import Tensor
import Autograd
import TestSupport

final class AttentionTests: XCTestCase {
    // B=2, H=2, Tq=3, Tk=4, D=2, as in References/make_references.py.
    let q = wave([2, 2, 3, 2], 0.37, 0.1, 1.5)
    let k = wave([2, 2, 4, 2], 0.53, 0.7, 1.5)
    let v = wave([2, 2, 4, 2], 0.29, 1.3, 1.0)
    /// Batch 0 pads its last key, batch 1 keys 1 and 3.
    let padding = [false, false, false, true, false, true, false, true]

    func testForwardMatchesNumpyWithPaddingAndCausalCache() {
        let reference: [Float] = [0.9582959, 0.9164241, 0.9398798, 0.879025, 0.9425717, 0.8781932, -0.7955399, -0.9235285, -0.7233962, -0.842788, -0.5176717, -0.7319578, -0.3364884, -0.05316024, 0.5988309, 0.7785549, 0.3087879, 0.5206395, 0.9187007, 0.7674012, 0.8754266, 0.717742, 0.843504, 0.6811093]
        let out = forward([q, k, v]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2],
                                      mask: AttentionMask(keyPadding: padding, causal: true))
        }
        assertClose(out, Tensor(shape: [2, 2, 3, 2], scalars: reference), absolute: 1e-5)
    }

    func testGradientsForEveryMaskKind() {
        let masks: [(String, AttentionMask, Int)] = [
            ("none", AttentionMask(), 4),
            ("padding", AttentionMask(keyPadding: padding), 4),
            ("causal", AttentionMask(causal: true), 4),
            ("causal with cache", AttentionMask(causal: true), 3),
            ("padding + causal with cache", AttentionMask(keyPadding: padding, causal: true), 3),
        ]
        var rng = SeededGenerator(seed: 9)
        for (name, mask, queries) in masks {
            let inputs = [Tensor.randomNormal([2, 2, queries, 2], using: &rng), Tensor.randomNormal([2, 2, 4, 2], using: &rng),
                          Tensor.randomNormal([2, 2, 4, 2], using: &rng)]
            let result = checkGradients(inputs: inputs, maxElements: nil) {
                scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask)
            }
            XCTAssertLessThan(result.worstRelativeError, 1e-2, "\(name): \(result)")
        }
    }

    func testCausalWithCacheEqualsLastRowsOfFullCausal() {
        // Incremental decoding: the last 2 queries against all 5 keys = rows 3, 4 of the full causal pass.
        var rng = SeededGenerator(seed: 4)
        let (fq, fk, fv) = (Tensor.randomNormal([1, 2, 5, 3], using: &rng), Tensor.randomNormal([1, 2, 5, 3], using: &rng),
                            Tensor.randomNormal([1, 2, 5, 3], using: &rng))
        let full = forward([fq, fk, fv]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true))
        }
        let lastQueries = forward([fq.reshaped([2, 5, 3])]) { slice($0[0], axis: 1, range: 3..<5) }.reshaped([1, 2, 2, 3])
        let cached = forward([lastQueries, fk, fv]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true))
        }
        let expected = forward([full.reshaped([2, 5, 3])]) { slice($0[0], axis: 1, range: 3..<5) }.reshaped([1, 2, 2, 3])
        assertClose(cached, expected, absolute: 1e-6)
    }

    func testFullyMaskedRowGivesZerosNotNaN() {
        // Batch 1 pads keys 0 and 1; with causal-with-cache its query 0 sees only keys 0...1: nothing.
        let mask = AttentionMask(keyPadding: [false, false, false, false, true, true, false, false], causal: true)
        let out = forward([q, k, v]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask) }
        XCTAssertFalse(out.scalars.contains { $0.isNaN })
        for head in 0..<2 {
            XCTAssertEqual(out[1, head, 0, 0], 0)
            XCTAssertEqual(out[1, head, 0, 1], 0)
        }
        let grads = gradients([q, k, v]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask) }
        XCTAssertFalse(grads.contains { $0.scalars.contains { $0.isNaN } })
        XCTAssertEqual(grads[0][1, 0, 0, 0], 0)
        let allPadded = AttentionMask(keyPadding: [Bool](repeating: true, count: 8))
        let empty = forward([q, k, v]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: allPadded) }
        XCTAssertEqual(empty, Tensor(zeros: [2, 2, 3, 2]))
    }

    func testDropoutWithFixedSeedHasMatchingGradients() {
        var rng = SeededGenerator(seed: 12)
        let inputs = [Tensor.randomNormal([1, 2, 4, 3], using: &rng), Tensor.randomNormal([1, 2, 4, 3], using: &rng),
                      Tensor.randomNormal([1, 2, 4, 3], using: &rng)]
        func attend(_ vars: [Var]) -> Var {
            // A fresh graph with the same seed per call: the same dropout mask on every evaluation.
            let graph = Graph(parameters: Parameters(), training: true, seed: 21, tape: vars[0].tape)
            return scaledDotProductAttention(query: vars[0], key: vars[1], value: vars[2],
                                             mask: AttentionMask(causal: true), dropout: 0.3, graph: graph)
        }
        assertGradientsMatch(inputs, maxElements: nil, attend)
        let plain = forward(inputs) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true)) }
        XCTAssertNotEqual(forward(inputs, attend), plain, "dropout changed nothing while training")
        let evaluation = forward(inputs) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true), dropout: 0.3,
                                      graph: Graph(parameters: Parameters(), training: false, tape: $0[0].tape))
        }
        XCTAssertEqual(evaluation, plain)
    }

    func testSoftmaxForwardAndGradient() {
        // References/make_references.py: softmax of wave(8, 0.9, 0.1, 3) as [2,4].
        let reference: [Float] = [0.04008092, 0.3708557, 0.507908, 0.0811553, 0.1137414, 0.02828588, 0.06714234, 0.7908304]
        let x = wave([2, 4], 0.9, 0.1, 3)
        assertClose(forward([x]) { softmax($0[0]) }, Tensor(shape: [2, 4], scalars: reference), absolute: 1e-6)
        var rng = SeededGenerator(seed: 2)
        assertGradientsMatch([Tensor.randomNormal([2, 3, 5], using: &rng)], maxElements: nil) { softmax($0[0]) }
    }

    func testSplitAndMergeHeads() {
        var rng = SeededGenerator(seed: 8)
        let x = Tensor.randomNormal([2, 3, 6], using: &rng)   // [B,T,C], 3 heads of depth 2
        let split = forward([x]) { splitHeads($0[0], heads: 3) }
        XCTAssertEqual(split, x.reshaped([2, 3, 3, 2]).permuted([0, 2, 1, 3]))
        XCTAssertEqual(forward([x]) { mergeHeads(splitHeads($0[0], heads: 3)) }, x)
        assertGradientsMatch([x], maxElements: nil) { splitHeads($0[0], heads: 3) }
        assertGradientsMatch([split], maxElements: nil) { mergeHeads($0[0]) }
    }

    func testAttentionSpeed() {
        // B=16, H=4, T=64, D=64 causal forward + backward: ~8.4 MFLOP x 6 of sgemm work. A per-element
        // Swift triple loop takes ~1 s here; the sgemm path must stay far below that.
        var rng = SeededGenerator(seed: 1)
        let inputs = (0..<3).map { _ in Tensor.randomNormal([16, 4, 64, 64], using: &rng) }
        _ = gradients(inputs) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true)) }
        let start = Date(), startCPU = clock()
        let runs = 5
        for _ in 0..<runs {
            _ = gradients(inputs) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: AttentionMask(causal: true)) }
        }
        let seconds = Date().timeIntervalSince(start) / Double(runs)
        let cpuSeconds = Double(clock() - startCPU) / Double(CLOCKS_PER_SEC) / Double(runs)
        print("attention B16 H4 T64 D64 causal forward+backward: wall \(String(format: "%.2f", seconds * 1000)) ms, "
              + "CPU (all threads) \(String(format: "%.2f", cpuSeconds * 1000)) ms")
        XCTAssertLessThan(seconds, 0.25)
    }
}
