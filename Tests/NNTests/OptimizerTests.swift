import XCTest
import Tensor
import Autograd
import NN
import TestSupport

/// Golden values from torch.optim (torch 2.x, CPU, float32), printed by
/// Tests/NNTests/References/optimizer_reference.py; the inputs below are that script's literals.
final class OptimizerTests: XCTestCase {
    private let initial = Parameters([
        ("w", Tensor(shape: [2, 3], scalars: [0.5, -1.0, 2.0, 0.25, 0.0, -0.75])),
        ("b", Tensor([0.1, -0.2, 0.3])),
    ])
    private let gradients: [Parameters] = [
        Parameters([("w", Tensor(shape: [2, 3], scalars: [0.1, -0.2, 0.3, -0.4, 0.5, 0.0])), ("b", Tensor([1.0, -1.0, 0.5]))]),
        Parameters([("w", Tensor(shape: [2, 3], scalars: [0.05, 0.0, -0.1, 0.2, -0.3, 0.4])), ("b", Tensor([0.5, 0.25, -0.5]))]),
        Parameters([("w", Tensor(shape: [2, 3], scalars: [-0.3, 0.1, 0.2, 0.0, 0.6, -0.2])), ("b", Tensor([-0.1, 0.2, 0.3]))]),
    ]

    /// Runs the three reference steps and compares with torch's parameters.
    private func assertMatchesTorch<O: Optimizer>(
        _ optimizer: inout O, w: [Float], b: [Float], file: StaticString = #filePath, line: UInt = #line
    ) {
        var parameters = initial
        for g in gradients { optimizer.update(&parameters, gradients: g) }
        XCTAssertEqual(parameters.names, ["w", "b"], file: file, line: line)
        assertClose(parameters.require("w"), Tensor(shape: [2, 3], scalars: w), absolute: 1e-6, relative: 1e-5, file: file, line: line)
        assertClose(parameters.require("b"), Tensor(b), absolute: 1e-6, relative: 1e-5, file: file, line: line)
    }

    func testSGDMatchesTorch() {
        var sgd = SGD(learningRate: 0.1)
        assertMatchesTorch(&sgd, w: [0.515000045, -0.99000001, 1.96000004, 0.269999981, -0.0800000057, -0.770000041],
                           b: [-0.0399999991, -0.144999996, 0.270000011])
    }

    func testSGDMomentumMatchesTorch() {
        var sgd = SGD(learningRate: 0.1, momentum: 0.9)
        assertMatchesTorch(&sgd, w: [0.493400007, -0.955799997, 1.91770005, 0.3204, -0.138500005, -0.805999994],
                           b: [-0.256000012, 0.00349999568, 0.229499996])
    }

    func testAdamMatchesTorch() {
        var adam = Adam(learningRate: 0.01)
        assertMatchesTorch(&adam, w: [0.48415044, -0.981526792, 1.97996688, 0.264722168, -0.017529279, -0.759727716],
                           b: [0.0740707442, -0.182960808, 0.288404226])
        XCTAssertEqual(adam.step, 3)
    }

    func testAdamWeightDecayMatchesTorch() {
        var adam = Adam(learningRate: 0.01, beta1: 0.9, beta2: 0.98, epsilon: 1e-9, weightDecay: 0.1)
        assertMatchesTorch(&adam, w: [0.481140345, -0.974528134, 1.97310901, 0.262988627, -0.0174980145, -0.745109022],
                           b: [0.0739161521, -0.182434008, 0.287194908])
    }

    func testAdamWithNoamScheduleMatchesTorch() {
        var adam = Adam(learningRate: 0, beta1: 0.9, beta2: 0.98, epsilon: 1e-9,
                        schedule: NoamSchedule(modelSize: 4, warmup: 2, factor: 0.5))
        assertClose(adam.currentLearningRate, 0.5 * 0.5 * pow(2, -1.5))
        assertMatchesTorch(&adam, w: [0.296091974, -0.766853809, 1.75324309, 0.41555354, -0.203229249, -0.913859189],
                           b: [-0.249750227, 0.00585915893, 0.190205574])
    }

    func testNoamScheduleValues() {
        let noam = NoamSchedule(modelSize: 300, warmup: 4000, factor: 1)
        let expected: [(Int, Float)] = [
            (1, 2.28217732e-07), (2, 4.56435465e-07), (100, 2.28217732e-05), (3999, 0.000912642711),
            (4000, 0.000912870929), (4001, 0.000912756842), (10000, 0.000577350269), (100000, 0.000182574186),
        ]
        for (step, rate) in expected {
            assertClose(noam.learningRate(at: step), rate, absolute: 0, relative: 1e-6, "step \(step)")
        }
        XCTAssertEqual(noam.learningRate(at: 0), 0)
    }

    /// Minimises f(p) = sum_i a_i (p_i - c_i)^2 from the origin.
    private func converges<O: Optimizer>(_ optimizer: inout O, steps: Int) -> Float {
        let a = Tensor([1, 4, 0.5, 2])
        let c = Tensor([3, -1, 2, 0.5])
        var parameters = Parameters([("p", Tensor(zeros: [4]))])
        for _ in 0..<steps {
            let diff = parameters.require("p") - c
            optimizer.update(&parameters, gradients: Parameters([("p", 2 * (a * diff))]))
        }
        return Float((parameters.require("p") - c).squaredNorm().squareRoot())
    }

    func testQuadraticConverges() {
        var sgd = SGD(learningRate: 0.05)
        XCTAssertLessThan(converges(&sgd, steps: 500), 1e-4)
        var momentum = SGD(learningRate: 0.02, momentum: 0.9)
        XCTAssertLessThan(converges(&momentum, steps: 500), 1e-4)
        var adam = Adam(learningRate: 0.05)
        XCTAssertLessThan(converges(&adam, steps: 2000), 1e-3)
    }

    func testParameterWithoutGradientIsUnchangedAndCallerCopyIsUntouched() {
        var adam = Adam(learningRate: 0.1)
        let meta = initial
        var adapted = meta
        adam.update(&adapted, gradients: Parameters([("b", Tensor([1, 1, 1]))]))
        XCTAssertEqual(adapted.require("w"), meta.require("w"))
        XCTAssertNotEqual(adapted.require("b"), meta.require("b"))
        XCTAssertEqual(meta, initial, "the caller's shared copy must not change")
        XCTAssertEqual(adam.firstMoment.names, ["b"])
    }

    func testAdamStateRestoreResumesExactly() throws {
        var straight = Adam(learningRate: 0.01, weightDecay: 0.1)
        var p1 = initial
        for g in gradients { straight.update(&p1, gradients: g) }

        var first = Adam(learningRate: 0.01, weightDecay: 0.1)
        var p2 = initial
        first.update(&p2, gradients: gradients[0])
        var resumed = Adam(learningRate: 0.01, weightDecay: 0.1)
        try resumed.restore(first.state)
        XCTAssertEqual(resumed.step, 1)
        for g in gradients.dropFirst() { resumed.update(&p2, gradients: g) }
        XCTAssertEqual(p1, p2, "resuming from saved state must be bit-identical")

        var sgd = SGD(learningRate: 0.1)
        XCTAssertThrowsError(try sgd.restore(first.state)) { error in
            XCTAssert("\(error)".contains("adam"), "\(error)")
        }
    }

    func testSGDStateRestoreResumesExactly() throws {
        var straight = SGD(learningRate: 0.1, momentum: 0.9)
        var p1 = initial
        for g in gradients { straight.update(&p1, gradients: g) }
        var first = SGD(learningRate: 0.1, momentum: 0.9)
        var p2 = initial
        first.update(&p2, gradients: gradients[0])
        var resumed = SGD(learningRate: 0.1, momentum: 0.9)
        try resumed.restore(first.state)
        for g in gradients.dropFirst() { resumed.update(&p2, gradients: g) }
        XCTAssertEqual(p1, p2)
    }

    /// Measures one Adam step over 10M parameters (prints the time; a rough regression guard).
    func testAdamStepSpeed() {
        var parameters = Parameters([("big", Tensor(repeating: 0.5, shape: [10_000, 1_000]))])
        let gradients = Parameters([("big", Tensor(repeating: 0.01, shape: [10_000, 1_000]))])
        var adam = Adam(learningRate: 1e-3)
        adam.update(&parameters, gradients: gradients)
        let start = Date()
        for _ in 0..<5 { adam.update(&parameters, gradients: gradients) }
        let perStep = Date().timeIntervalSince(start) / 5
        print("Adam step, 10M parameters: \(String(format: "%.1f", perStep * 1000)) ms")
        XCTAssertLessThan(perStep, 1.0)
    }
}
