import Foundation
import TestSupport
import XCTest
import Tensor
@testable import Autograd

/// The fused pointer-generator loss: value against NumPy (float64, the script in the doc comment), gradients
/// against central differences, and its log-probabilities summing to 1.
final class PointerGeneratorTests: XCTestCase {
    // B = 2 items, T = 3 rows each, S = 4 source positions (item 1's last is padding), V = 7 words.
    // Row targets: 4 (twice in item 0's source), 3 (not in the source: vocabulary only), 6, 5, 0 (ignored), 2.
    let source = CopySource(ids: [4, 5, 4, 6, 5, 2, 6, 0], padding: [false, false, false, false, false, false, false, true],
                            length: 4, rowsPerItem: 3)
    let targets = [4, 3, 6, 5, 0, 2]
    let z = wave([6, 7], 0.37, 0.1, 2), c = wave([6, 4], 0.53, 0.2, 1.5), gate = wave([6, 1], 0.91, 0.3, 1)

    /// NumPy reference (float64 on the float32 inputs):
    ///   for each kept row r (item = r // 3): p = softmax(z[r]); a = softmax(c[r] with pads at -inf); g = sigmoid(gate[r]);
    ///   q = a[ids[item] == t].sum(); loss -= log(g * p[t] + (1 - g) * q); mean over the 5 kept rows.
    func testLossMatchesNumPy() {
        let value = forward([z, c, gate]) { v in
            pointerGeneratorLoss(vocabularyLogits: v[0], copyScores: v[1], gate: v[2], source: source, targets: targets, ignoreIndex: 0)
        }
        XCTAssertEqual(Double(value.scalars[0]), 1.7704586512571683, accuracy: 2e-6)
        let logP = pointerGeneratorLogProbabilities(vocabularyLogits: z, copyScores: c, gate: gate, source: source)
        let row3: [Double] = [-1.7494702551403731, -1.8963827106991498, -1.3469659620939645, -2.8886987779179303,
                              -3.599797135953018, -2.3608152427512987, -1.4326557417549772]
        for (j, expected) in row3.enumerated() { XCTAssertEqual(Double(logP.scalars[3 * 7 + j]), expected, accuracy: 2e-6, "word \(j)") }
        for r in 0..<6 {
            let total = (0..<7).reduce(0.0) { $0 + exp(Double(logP.scalars[r * 7 + $1])) }
            XCTAssertEqual(total, 1, accuracy: 1e-5, "row \(r)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        let result = checkGradients(inputs: [z, c, gate], step: 1e-3, maxElements: nil) { v in
            pointerGeneratorLoss(vocabularyLogits: v[0], copyScores: v[1], gate: v[2], source: source, targets: targets, ignoreIndex: 0)
        }
        XCTAssertLessThan(result.worstRelativeError, 3e-3, result.description)
        XCTAssertEqual(result.checkedElements, 42 + 24 + 6)
        // Padding and ignored rows get exactly zero gradient.
        let grads = gradients([z, c, gate]) { v in
            pointerGeneratorLoss(vocabularyLogits: v[0], copyScores: v[1], gate: v[2], source: source, targets: targets, ignoreIndex: 0)
        }
        for s in 0..<4 { XCTAssertEqual(grads[1].scalars[4 * 4 + s], 0, "ignored row 4") }
        for r in 3..<6 { XCTAssertEqual(grads[1].scalars[r * 4 + 3], 0, "padding of item 1, row \(r)") }
        XCTAssertEqual(grads[2].scalars[4], 0)
    }

    /// With the gate shut (g -> 0) the distribution is the copy distribution: words not in the source get nothing.
    func testClosedGateOnlyCopies() {
        let shut = Tensor(repeating: -60, shape: [6, 1])
        let logP = pointerGeneratorLogProbabilities(vocabularyLogits: z, copyScores: c, gate: shut, source: source)
        for word in [1, 3] { XCTAssertLessThan(logP.scalars[0 * 7 + word], -20, "word \(word) is not in item 0's source") }
        XCTAssertLessThan(logP.scalars[3 * 7 + 0], -55, "item 1's padding id copies nothing")
    }
}
