import XCTest
import Tensor
import Autograd
import TestSupport

final class ActivationTests: XCTestCase {
    // References/make_references.py, x = wave(8, 0.9, 0.1, 3).
    let x = wave([8], 0.9, 0.1, 3)
    let geluReference: [Float] = [0.1850075, 2.509785, 2.832475, 0.8467258, -0.08896928, -0.004281422, -0.03629161, 0.2226201]
    let sigmoidReference: [Float] = [0.5743203, 0.9258356, 0.9447421, 0.7320335, 0.1694531, 0.04828829, 0.1074918, 0.5865321]
    let tanhReference: [Float] = [0.2908552, 0.9872481, 0.9931812, 0.7636712, -0.9200739, -0.9948645, -0.9714042, 0.336063]

    func testForwardMatchesNumpy() {
        assertClose(forward([x]) { gelu($0[0]) }, Tensor(geluReference), absolute: 1e-6)
        assertClose(forward([x]) { sigmoid($0[0]) }, Tensor(sigmoidReference), absolute: 1e-6)
        assertClose(forward([x]) { tanh($0[0]) }, Tensor(tanhReference), absolute: 1e-6)
        assertClose(forward([x]) { relu($0[0]) }, x.map { max($0, 0) }, absolute: 0)
    }

    func testGradients() {
        var rng = SeededGenerator(seed: 3)
        let input = Tensor.randomNormal([4, 6], using: &rng)
        assertGradientsMatch([input]) { gelu($0[0]) }
        assertGradientsMatch([input]) { sigmoid($0[0]) }
        assertGradientsMatch([input]) { tanh($0[0]) }
        // ReLU's kink at 0 breaks finite differences within one step of it: keep |x| >= 0.1.
        assertGradientsMatch([input.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }]) { relu($0[0]) }
    }

    func testSigmoidSaturatesWithoutOverflow() {
        let out = forward([Tensor([-200, 200])]) { sigmoid($0[0]) }
        XCTAssertEqual(out.scalars, [0, 1])
    }
}
