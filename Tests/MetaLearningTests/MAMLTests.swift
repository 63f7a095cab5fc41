import XCTest
import Autograd
import MetaLearning
import NN
import Tensor
import TestSupport

/// Quadratic tasks L(theta) = 1/2 theta^T A theta - b^T theta, whose MAML meta-gradients have closed forms.
struct QuadraticBatch {
    var a: Tensor   // [n, n], symmetric positive definite
    var b: Tensor   // [n, 1]

    static func random(_ n: Int, _ rng: inout SeededGenerator) -> QuadraticBatch {
        let m = Tensor.randomNormal([n, n], using: &rng)
        var a = Tensor.matmul(m, m, transposeA: true) * (1 / Float(n))
        for i in 0..<n { a[i, i] += 1 }
        return QuadraticBatch(a: a, b: Tensor.randomNormal([n, 1], using: &rng))
    }

    func gradient(_ theta: Tensor) -> Tensor { Tensor.matmul(a, theta) - b }   // A theta - b
}

func quadraticLoss(_ g: Graph, _ batch: QuadraticBatch) -> Var {
    let theta = g.param("theta")                                  // [n, 1]
    let at = matmul(g.constant(batch.a), theta)                   // [n, 1]
    return (theta * at).sum() * 0.5 - (g.constant(batch.b) * theta).sum()
}

final class MAMLTests: XCTestCase {
    let n = 5
    let alpha: Float = 0.1

    func setUpTask(innerSteps: Int) -> (Parameters, MetaTask<QuadraticBatch>, [QuadraticBatch], QuadraticBatch) {
        var rng = SeededGenerator(seed: 21)
        let theta = Tensor.randomNormal([n, 1], using: &rng)
        let support = (0..<innerSteps).map { _ in QuadraticBatch.random(n, &rng) }
        let query = QuadraticBatch.random(n, &rng)
        return (Parameters([("theta", theta)]), MetaTask(support: support, query: [query]), support, query)
    }

    func maml(_ kind: MetaGradient, innerSteps: Int) -> MAML<QuadraticBatch> {
        var config = MAMLConfig()
        config.innerLearningRate = alpha
        config.innerSteps = innerSteps
        config.metaGradient = kind
        return MAML(config: config, loss: quadraticLoss)
    }

    /// theta_{i+1} = theta_i - alpha (A_i theta_i - b_i), by hand.
    func exactTrajectory(_ theta: Tensor, _ support: [QuadraticBatch]) -> [Tensor] {
        var states = [theta]
        for batch in support { states.append(states.last! - batch.gradient(states.last!) * alpha) }
        return states
    }

    /// With an inner clip c, each step is -alpha * g * min(1, c / |g|): by hand on the quadratic tasks.
    func testClippedInnerStepsScaleLongGradients() {
        let (parameters, task, support, _) = setUpTask(innerSteps: 2)
        var config = MAMLConfig()
        config.innerLearningRate = alpha
        config.innerSteps = 2
        config.innerGradientClip = 0.5
        let adapted = MAML(config: config, loss: quadraticLoss).adapt(parameters, on: task.support).adapted
        var theta = parameters.require("theta")
        var clipped = 0
        for batch in support {
            var g = batch.gradient(theta)
            let norm = Float(g.squaredNorm().squareRoot())
            if norm > 0.5 { g = g * (0.5 / norm); clipped += 1 }
            theta = theta - g * alpha
        }
        XCTAssertGreaterThan(clipped, 0, "the fixture must have a gradient longer than the clip")
        assertClose(adapted.require("theta"), theta, absolute: 1e-5)
    }

    func testAdaptationIsSGDAndLeavesTheMetaModelAlone() {
        let (parameters, task, support, _) = setUpTask(innerSteps: 2)
        let (adapted, trajectory) = maml(.firstOrder, innerSteps: 2).adapt(parameters, on: task.support)
        let exact = exactTrajectory(parameters.require("theta"), support)
        assertClose(adapted.require("theta"), exact[2], absolute: 1e-5)
        XCTAssertEqual(trajectory.count, 2)
        XCTAssertEqual(parameters.require("theta"), exact[0], "meta-model changed by adaptation")
    }

    func testFirstOrderIsQueryGradientAtAdaptedWeights() {
        let (parameters, task, support, query) = setUpTask(innerSteps: 1)
        let outcome = maml(.firstOrder, innerSteps: 1).taskGradient(parameters, task: task)
        let adapted = exactTrajectory(parameters.require("theta"), support).last!
        assertClose(outcome.metaGradient.require("theta"), query.gradient(adapted), absolute: 1e-4)
    }

    /// Exact: grad = (I - alpha A_1)(I - alpha A_2) ... (A_q theta' - b_q) (each A symmetric).
    func testSecondOrderMatchesClosedFormThroughTwoInnerSteps() {
        let (parameters, task, support, query) = setUpTask(innerSteps: 2)
        let outcome = maml(.secondOrder, innerSteps: 2).taskGradient(parameters, task: task)
        let states = exactTrajectory(parameters.require("theta"), support)
        var expected = query.gradient(states.last!)
        for batch in support.reversed() { expected = expected - Tensor.matmul(batch.a, expected) * alpha }
        assertClose(outcome.metaGradient.require("theta"), expected, absolute: 2e-3, relative: 2e-3)
        // And it differs from first order by more than the tolerance (the Hessian term matters here).
        let firstOrder = maml(.firstOrder, innerSteps: 2).taskGradient(parameters, task: task)
        XCTAssertGreaterThan(firstOrder.metaGradient.require("theta").maxAbsDifference(expected), 1e-2)
    }

    func testReptileGradientIsThetaMinusAdapted() {
        let (parameters, task, support, _) = setUpTask(innerSteps: 3)
        let outcome = maml(.reptile, innerSteps: 3).taskGradient(parameters, task: task)
        let states = exactTrajectory(parameters.require("theta"), support)
        assertClose(outcome.metaGradient.require("theta"), states[0] - states[3], absolute: 1e-5)
    }

    /// Meta-training on a family of quadratic tasks lowers the post-adaptation query loss on held-out tasks.
    func testMetaTrainingImprovesAdaptedLossOnNewTasks() {
        var rng = SeededGenerator(seed: 33)
        // Tasks share a common optimum region: b = A c + noise with a common c.
        let center = Tensor.randomNormal([n, 1], using: &rng) * 3
        func task() -> MetaTask<QuadraticBatch> {
            var s = QuadraticBatch.random(n, &rng), q = QuadraticBatch.random(n, &rng)
            let shift = Tensor.randomNormal([n, 1], std: 0.1, using: &rng)
            s.b = Tensor.matmul(s.a, center + shift)
            q.b = Tensor.matmul(q.a, center + shift)
            return MetaTask(support: [s], query: [q])
        }
        let heldOut = (0..<8).map { _ in task() }
        for kind in MetaGradient.allCases {
            let learner = maml(kind, innerSteps: 1)
            var parameters = Parameters([("theta", Tensor(zeros: [n, 1]))])
            func adaptedLoss() -> Float {
                heldOut.map { learner.meanLoss(learner.adapt(parameters, on: $0.support).adapted, on: $0.query) }
                    .reduce(0, +) / Float(heldOut.count)
            }
            let before = adaptedLoss()
            var optimizer = Adam(learningRate: 0.05)
            for _ in 0..<150 { learner.metaStep(&parameters, tasks: (0..<4).map { _ in task() }, optimizer: &optimizer) }
            XCTAssertLessThan(adaptedLoss(), before - 1, "\(kind) did not meta-learn")
        }
    }
}
