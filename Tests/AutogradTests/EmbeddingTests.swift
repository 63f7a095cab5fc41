import XCTest
import Tensor
import Autograd
import TestSupport

final class EmbeddingTests: XCTestCase {
    func testLookupAndSparseGradientWithRepeatedIndices() {
        let table = wave([5, 3], 0.4, 0.2)
        let indices = [1, 3, 1, 0, 1]
        let out = forward([table]) { embedding($0[0], indices: indices) }
        XCTAssertEqual(out.shape, [5, 3])
        XCTAssertEqual(Array(out.scalars[3..<6]), Array(table.scalars[9..<12]))
        // Row 1 is used three times: its gradient is the sum of those three output gradients.
        let seed = wave([5, 3], 0.77, 1.1)
        let grad = gradients([table], seed: seed) { embedding($0[0], indices: indices) }[0]
        for c in 0..<3 {
            XCTAssertEqual(grad[1, c], seed[0, c] + seed[2, c] + seed[4, c], accuracy: 1e-6)
            XCTAssertEqual(grad[2, c], 0)
            XCTAssertEqual(grad[4, c], 0)
        }
        assertGradientsMatch([table], maxElements: nil) { embedding($0[0], indices: indices) }
    }
}
