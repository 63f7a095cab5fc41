import XCTest
import Tensor
import Autograd
import TestSupport

/// Row-wise kernels split their rows over the BLAS threads once a share is large enough (`forEachChunk`);
/// the small inputs of the other gradient tests never reach that path. These inputs do: each kernel must
/// give the same values and gradients with one thread and with two, and pass a gradient check on two.
final class ParallelRowKernelTests: XCTestCase {
    override func tearDown() { setBLASThreads(2) }

    /// Value and input gradients (under a fixed random projection of the output) with `threads` threads.
    private func evaluate(_ inputs: [Tensor], threads: Int, _ f: ([Var]) -> Var) -> (Tensor, [Tensor]) {
        setBLASThreads(threads)
        let out = forward(inputs, f)
        var rng = SeededGenerator(seed: 99)
        return (out, gradients(inputs, seed: Tensor.randomNormal(out.shape, using: &rng), f))
    }

    private func assertThreadCountIrrelevant(_ inputs: [Tensor], _ name: String, _ f: ([Var]) -> Var) {
        let (out1, grads1) = evaluate(inputs, threads: 1, f)
        let (out2, grads2) = evaluate(inputs, threads: 2, f)
        assertClose(out2, out1, absolute: 1e-5, "\(name) value")
        for (i, (a, b)) in zip(grads2, grads1).enumerated() {
            assertClose(a, b, absolute: 1e-4, "\(name) gradient of input \(i)")
        }
    }

    func testLayerNormSameOnOneAndTwoThreads() {
        var rng = SeededGenerator(seed: 11)
        let inputs = [Tensor.randomNormal([3, 97, 300], using: &rng), Tensor.randomNormal([300], using: &rng),
                      Tensor.randomNormal([300], using: &rng)]   // 291 rows: an odd split
        assertThreadCountIrrelevant(inputs, "layerNorm") { layerNorm($0[0], gamma: $0[1], beta: $0[2]) }
        setBLASThreads(2)
        assertGradientsMatch(inputs, maxElements: 48) { layerNorm($0[0], gamma: $0[1], beta: $0[2]) }
    }

    func testCrossEntropySameOnOneAndTwoThreads() {
        var rng = SeededGenerator(seed: 12)
        let logits = Tensor.randomNormal([41, 1_000], using: &rng)
        let targets = (0..<41).map { $0 % 7 == 3 ? 0 : ($0 * 37) % 1_000 }   // id 0 is ignored
        let loss = { (v: [Var]) in crossEntropy(logits: v[0], targets: targets, ignoreIndex: 0, labelSmoothing: 0.1) }
        assertThreadCountIrrelevant([logits], "crossEntropy", loss)
        setBLASThreads(2)
        assertGradientsMatch([logits], maxElements: 48, loss)
    }

    func testAttentionAndSoftmaxSameOnOneAndTwoThreads() {
        var rng = SeededGenerator(seed: 13)
        let (b, h, t, d) = (3, 4, 64, 10)   // 12 blocks of 64 x 64 scores: two workers
        let inputs = (0..<3).map { _ in Tensor.randomNormal([b, h, t, d], using: &rng) }
        var padding = [Bool](repeating: false, count: b * t)
        for j in 56..<t { padding[t + j] = true }   // the second sequence is padded at the end
        let mask = AttentionMask(keyPadding: padding, causal: true)
        let attend = { (v: [Var]) in scaledDotProductAttention(query: v[0], key: v[1], value: v[2], mask: mask) }
        assertThreadCountIrrelevant(inputs, "attention", attend)
        setBLASThreads(2)
        assertGradientsMatch(inputs, maxElements: 32, attend)

        let scores = [Tensor.randomNormal([300, 128], using: &rng)]
        assertThreadCountIrrelevant(scores, "softmax") { softmax($0[0]) }
        setBLASThreads(2)
        assertGradientsMatch(scores, maxElements: 48) { softmax($0[0]) }
    }
}
