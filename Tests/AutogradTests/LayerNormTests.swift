import XCTest
import Tensor
import Autograd
import TestSupport

final class LayerNormTests: XCTestCase {
    func testForwardMatchesNumpy() {
        // References/make_references.py: x [2,5] = wave(10, 0.7, 0.3, 2), gamma = wave(5, 1.1, 0.2),
        // beta = wave(5, 0.5, 1.0, 0.5), epsilon 1e-5.
        let reference: [Float] = [0.2660135, 1.245624, 1.26697, 0.193081, 1.562655, 0.3755461, -0.4850023, -0.09707982, 0.1978773, -1.694514]
        let out = forward([wave([2, 5], 0.7, 0.3, 2), wave([5], 1.1, 0.2), wave([5], 0.5, 1.0, 0.5)]) {
            layerNorm($0[0], gamma: $0[1], beta: $0[2])
        }
        assertClose(out, Tensor(shape: [2, 5], scalars: reference), absolute: 1e-5)
    }

    func testGradientsWithLeadingDimensions() {
        var rng = SeededGenerator(seed: 5)
        let inputs = [Tensor.randomNormal([2, 3, 6], using: &rng), Tensor.randomNormal([6], using: &rng),
                      Tensor.randomNormal([6], using: &rng)]
        assertGradientsMatch(inputs, maxElements: nil) { layerNorm($0[0], gamma: $0[1], beta: $0[2]) }
    }
}
