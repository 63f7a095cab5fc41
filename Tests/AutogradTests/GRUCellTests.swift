import XCTest
import Tensor
import Autograd
import TestSupport

final class GRUCellTests: XCTestCase {
    // References/make_references.py: B=2, In=3, Hd=2, PyTorch nn.GRUCell equations.
    let inputs = [wave([2, 3], 0.8, 0.3), wave([2, 2], 1.3, 0.5, 0.8), wave([6, 3], 0.45, 0.9, 0.6),
                  wave([6, 2], 0.71, 0.2, 0.6), wave([6], 1.7, 0.4, 0.3), wave([6], 0.9, 1.1, 0.3)]

    func cell(_ v: [Var]) -> Var {
        gruCell(input: v[0], hidden: v[1], weightIH: v[2], weightHH: v[3], biasIH: v[4], biasHH: v[5])
    }

    func testForwardMatchesNumpy() {
        let reference: [Float] = [0.5674602, 0.9096856, -0.1151222, -0.6529842]
        assertClose(forward(inputs, cell), Tensor(shape: [2, 2], scalars: reference), absolute: 1e-6)
    }

    func testGradients() {
        assertGradientsMatch(inputs, maxElements: nil, cell)
        var rng = SeededGenerator(seed: 14)
        let random = [[3, 4], [3, 5], [15, 4], [15, 5], [15], [15]].map { Tensor.randomNormal($0, std: 0.7, using: &rng) }
        assertGradientsMatch(random, maxElements: nil, cell)
    }
}
