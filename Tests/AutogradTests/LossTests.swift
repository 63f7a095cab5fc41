import Foundation
import XCTest
import Tensor
import Autograd
import TestSupport

final class LossTests: XCTestCase {
    func testCrossEntropyByHand() {
        // Row 0: logits [0, ln 3] -> p = [1/4, 3/4], target 1. Row 1 is ignored (target -100).
        let logits = Tensor(shape: [2, 2], scalars: [0, Float(log(3.0)), 5, -5])
        let targets = [1, -100]
        // No smoothing: -ln(3/4); gradient p - onehot = [1/4, -1/4] (mean over the one kept row).
        let plain = forward([logits]) { crossEntropy(logits: $0[0], targets: targets, ignoreIndex: -100) }
        assertClose(plain.scalar, Float(-log(0.75)), absolute: 1e-6)
        let grad = gradients([logits]) { crossEntropy(logits: $0[0], targets: targets, ignoreIndex: -100) }[0]
        assertClose(grad, Tensor(shape: [2, 2], scalars: [0.25, -0.25, 0, 0]), absolute: 1e-6)
        // Smoothing 0.5: 0.5 * (-ln 3/4) + 0.5 * (ln 4 - ln 3/4) / 2; q = 0.5 onehot + 0.25 = [1/4, 3/4] = p, so
        // the gradient vanishes.
        let smoothed = forward([logits]) { crossEntropy(logits: $0[0], targets: targets, ignoreIndex: -100, labelSmoothing: 0.5) }
        assertClose(smoothed.scalar, Float(0.5 * -log(0.75) + 0.25 * (log(4.0) - log(0.75))), absolute: 1e-6)
        let smoothedGrad = gradients([logits]) {
            crossEntropy(logits: $0[0], targets: targets, ignoreIndex: -100, labelSmoothing: 0.5)
        }[0]
        assertClose(smoothedGrad, Tensor(zeros: [2, 2]), absolute: 1e-6)
    }

    func testCrossEntropyMatchesNumpyWithSmoothingAndIgnore() {
        // References/make_references.py: logits [4,5] = wave(20, 0.61, 0.2, 2), targets [1, 4, 0, 2],
        // ignore 0, smoothing 0.1, mean over the 3 kept rows.
        let logits = wave([4, 5], 0.61, 0.2, 2)
        let loss = forward([logits]) {
            crossEntropy(logits: $0[0], targets: [1, 4, 0, 2], ignoreIndex: 0, labelSmoothing: 0.1)
        }
        assertClose(loss.scalar, 1.930083, absolute: 1e-5)
        let summed = forward([logits]) {
            crossEntropy(logits: $0[0], targets: [1, 4, 0, 2], ignoreIndex: 0, labelSmoothing: 0.1, reduction: .sum)
        }
        assertClose(summed.scalar, 3 * 1.930083, absolute: 3e-5)
    }

    func testCrossEntropyGradients() {
        var rng = SeededGenerator(seed: 6)
        let logits = Tensor.randomNormal([5, 7], using: &rng)
        let targets = [3, 1, 1, 6, 0]
        for smoothing: Float in [0, 0.1, 0.6] {
            for reduction in [LossReduction.mean, .sum] {
                assertGradientsMatch([logits], maxElements: nil) {
                    crossEntropy(logits: $0[0], targets: targets, ignoreIndex: 1, labelSmoothing: smoothing, reduction: reduction)
                }
            }
        }
    }

    func testAllRowsIgnoredGivesZeroNotNaN() {
        let loss = forward([Tensor(zeros: [2, 3])]) { crossEntropy(logits: $0[0], targets: [1, 1], ignoreIndex: 1) }
        XCTAssertEqual(loss.scalar, 0)
    }

    func testNegativeLogLikelihoodAndLogSoftmax() {
        let logits = wave([4, 5], 0.61, 0.2, 2)
        // References/make_references.py: log softmax of the same logits.
        let reference: [Float] = [-2.674913, -1.623677, -1.094948, -1.27944, -2.110606, -0.7462083, -1.846191, -2.471353, -2.396195, -1.647828, -3.023939, -1.884431, -1.168078, -1.133271, -1.792565, -0.5780128, -1.747494, -2.549033, -2.693513, -2.128819]
        assertClose(logSoftmaxRows(logits), Tensor(shape: [4, 5], scalars: reference), absolute: 1e-5)
        let (total, count) = negativeLogLikelihood(logits: logits, targets: [1, 4, 0, 2], ignoreIndex: 0)
        XCTAssertEqual(count, 3)
        XCTAssertEqual(total, -Double(reference[1] + reference[9] + reference[17]), accuracy: 1e-5)
    }

    func testBinaryCrossEntropyAndLogSigmoid() {
        // By hand: logits 0 give ln 2 whatever the target; a confident right answer costs ~0.
        let loss = forward([Tensor([0, 0, 30])]) { binaryCrossEntropyWithLogits($0[0], targets: Tensor([1, 0, 1])) }
        assertClose(loss.scalar, Float(2 * log(2.0) / 3), absolute: 1e-6)
        let logSig = forward([Tensor([0, -100, 100])]) { logSigmoid($0[0]) }
        assertClose(logSig, Tensor([Float(-log(2.0)), -100, 0]), absolute: 1e-5)
        var rng = SeededGenerator(seed: 13)
        let x = Tensor.randomNormal([3, 4], using: &rng)
        let t = Tensor.randomUniform([3, 4], bound: 1, using: &rng).map { ($0 + 1) / 2 }
        assertGradientsMatch([x], maxElements: nil) { binaryCrossEntropyWithLogits($0[0], targets: t) }
        assertGradientsMatch([x], maxElements: nil) { logSigmoid($0[0]) }
    }
}
