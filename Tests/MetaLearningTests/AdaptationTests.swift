import Autograd
import Tensor
import TestSupport
import XCTest
@testable import MetaLearning

/// The one SGD adaptation loop: steps cycle over the batches, clipping bounds each step, the trajectory is kept
/// on request, and a non-finite loss stops the loop at that step.
final class AdaptationTests: XCTestCase {
    /// L(theta; batch b) = 0.5 * |theta - target_b|^2, so grad = theta - target_b.
    func quadratic(_ targets: [[Float]]) -> (Parameters, Int, Int) -> (value: Float, gradients: Parameters) {
        { theta, batch, _ in
            let t = theta.require("w").scalars
            let diff = zip(t, targets[batch]).map { $0 - $1 }
            return (0.5 * diff.reduce(0) { $0 + $1 * $1 }, Parameters([("w", Tensor(diff))]))
        }
    }

    func testStepsCycleOverBatchesAndKeepTheTrajectory() {
        let start = Parameters([("w", Tensor([Float(0), 0]))])
        let outcome = SGDAdaptation(steps: 3, learningRate: 0.5)
            .run(start, batches: 2, keepTrajectory: true, gradient: quadratic([[2, 0], [0, 2]]))
        // step 1 (batch 0): w = 0 - 0.5 * (0 - [2, 0]) = [1, 0]; step 2 (batch 1): [0.5, 1]; step 3 (batch 0): [1.25, 0.5]
        XCTAssertEqual(outcome.adapted.require("w").scalars, [1.25, 0.5])
        XCTAssertEqual(outcome.trajectory.map { $0.require("w").scalars }, [[0, 0], [1, 0], [0.5, 1]])
        XCTAssertNil(outcome.nonFiniteStep)
        XCTAssertEqual(start.require("w").scalars, [0, 0], "the input weights are untouched")
    }

    func testClipBoundsEachStep() {
        let outcome = SGDAdaptation(steps: 1, learningRate: 1, gradientClip: 1)
            .run(Parameters([("w", Tensor([Float(0), 0]))]), batches: 1, gradient: quadratic([[30, 40]]))
        assertClose(outcome.adapted.require("w"), Tensor([Float(0.6), 0.8]))   // the step has length 1
    }

    func testNonFiniteLossStopsTheLoop() {
        var calls = 0
        let outcome = SGDAdaptation(steps: 5, learningRate: 0.1).run(Parameters([("w", Tensor([Float(1)]))]), batches: 1) { theta, _, step in
            calls += 1
            return (step == 2 ? .nan : 1, Parameters([("w", Tensor([Float(1)]))]))
        }
        XCTAssertEqual(outcome.nonFiniteStep, 3)
        XCTAssertEqual(calls, 3)
        assertClose(outcome.adapted.require("w"), Tensor([Float(0.8)]))   // two finite steps applied
    }
}
