import XCTest
import Tensor
import Autograd
import TestSupport

final class ShapeOpsTests: XCTestCase {
    func testConcatenateAndSliceValues() {
        let a = Tensor(shape: [2, 1, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2, 2], scalars: [5, 6, 7, 8, 9, 10, 11, 12])
        let joined = forward([a, b]) { concatenate($0, axis: 1) }
        XCTAssertEqual(joined, Tensor(shape: [2, 3, 2], scalars: [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]))
        XCTAssertEqual(forward([joined]) { slice($0[0], axis: 1, range: 1..<3) }, b)
        XCTAssertEqual(forward([joined]) { slice($0[0], axis: -2, range: 0..<1) }, a)
        XCTAssertEqual(forward([a, a]) { concatenate($0, axis: -1) },
                       Tensor(shape: [2, 1, 4], scalars: [1, 2, 1, 2, 3, 4, 3, 4]))
    }

    func testGradients() {
        var rng = SeededGenerator(seed: 10)
        for axis in 0..<3 {
            var shapeA = [2, 3, 4], shapeB = [2, 3, 4]
            shapeB[axis] = 1
            shapeA[axis] = 2
            assertGradientsMatch([Tensor.randomNormal(shapeA, using: &rng), Tensor.randomNormal(shapeB, using: &rng)],
                                 maxElements: nil) { concatenate($0, axis: axis) }
            assertGradientsMatch([Tensor.randomNormal([3, 4, 5], using: &rng)], maxElements: nil) {
                slice($0[0], axis: axis, range: 1..<3)
            }
        }
        assertGradientsMatch([Tensor.randomNormal([2, 3, 4], using: &rng)]) { transposeLastTwo($0[0]) }
        assertGradientsMatch([Tensor.randomNormal([2, 3], using: &rng)]) { squaredSum($0[0]) }
        XCTAssertEqual(forward([Tensor([1, -2, 3])]) { squaredSum($0[0]) }.scalar, 14)
    }
}
