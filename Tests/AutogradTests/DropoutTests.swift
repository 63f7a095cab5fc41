import XCTest
import Tensor
import Autograd
import TestSupport

final class DropoutTests: XCTestCase {
    func testGradientIsMaskTimesScaleForAFixedSeed() {
        let rate: Float = 0.25
        let x = Tensor(repeating: 1, shape: [40, 50])
        let graph = Graph(parameters: Parameters(), training: true, seed: 17)
        let input = graph.tape.leaf(x, requiresGrad: true)
        let out = graph.dropout(input, rate: rate)
        // Input ones: the output is the mask times the scale.
        let mask = out.value
        XCTAssert(mask.scalars.allSatisfy { $0 == 0 || $0 == 1 / (1 - rate) })
        let dropped = Double(mask.scalars.filter { $0 == 0 }.count) / Double(mask.count)
        XCTAssertEqual(dropped, Double(rate), accuracy: 0.03)   // 2000 draws: std 0.01
        let seed = wave([40, 50], 0.3, 0.1)
        graph.tape.backward(out, seed: seed)
        XCTAssertEqual(graph.tape.gradient(of: input), seed * mask)
        // The same seed gives the same mask.
        let again = Graph(parameters: Parameters(), training: true, seed: 17)
        XCTAssertEqual(again.dropout(again.constant(x), rate: rate).value, mask)
        // Finite differences through a fixed mask.
        assertGradientsMatch([wave([4, 5], 0.9, 0.3)], maxElements: nil) {
            Graph(parameters: Parameters(), training: true, seed: 17, tape: $0[0].tape).dropout($0[0], rate: rate)
        }
    }

    func testIdentityWhenEvaluatingOrRateZero() {
        let evaluation = Graph(parameters: Parameters(), training: false)
        let x = evaluation.constant(wave([3, 3], 0.5, 0))
        XCTAssertEqual(evaluation.dropout(x, rate: 0.5).id, x.id)
        let training = Graph(parameters: Parameters(), training: true)
        let y = training.constant(wave([3, 3], 0.5, 0))
        XCTAssertEqual(training.dropout(y, rate: 0).id, y.id)
    }

    func testMasksFollowTheGraphsGeneratorAcrossCalls() {
        let rate: Float = 0.5, keep = 1 / (1 - rate)
        let graph = Graph(parameters: Parameters(), training: true, seed: 5)
        let x = graph.constant(Tensor(repeating: 1, shape: [7, 3]))
        let first = graph.dropout(x, rate: rate).value.scalars, second = graph.dropout(x, rate: rate).value.scalars
        var stream = SeededGenerator(seed: 5)
        let expected = (0..<42).map { _ in stream.nextUniform() < rate ? 0 : keep }
        XCTAssertEqual(first + second, expected, "the second mask continues the stream where the first stopped")
    }
}
