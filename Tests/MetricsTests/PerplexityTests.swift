import XCTest
@testable import Metrics

final class PerplexityTests: XCTestCase {
    /// Batches of different sizes weigh by token count: exp(total NLL / total tokens).
    func testSumsTotalsAndDividesOnce() {
        var ppl = PerplexityAccumulator()
        XCTAssertNil(ppl.measure())
        ppl.accumulate(nll: 6.0, tokens: 2)                 // mean 3.0 over 2 tokens
        ppl.accumulate(tokenNLLs: [1.0, 1.0, 1.0, 1.0])     // mean 1.0 over 4 tokens
        XCTAssertEqual(ppl.tokenCount, 6)
        XCTAssertEqual(ppl.meanNLL!, 10.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(ppl.measure()!, exp(10.0 / 6.0), accuracy: 1e-12)
        // An average of per-batch perplexities would differ: (e^3 + e^1) / 2.
        XCTAssertNotEqual(ppl.measure()!, (exp(3.0) + exp(1.0)) / 2, accuracy: 1e-3)
        ppl.reset()
        XCTAssertNil(ppl.measure())
        XCTAssertEqual(ppl.totalNLL, 0)
    }

    /// A uniform model over V words has perplexity V.
    func testUniformModelHasPerplexityV() {
        var ppl = PerplexityAccumulator()
        let v = 37.0
        ppl.accumulate(tokenNLLs: [Float](repeating: Float(log(v)), count: 1000))
        XCTAssertEqual(ppl.measure()!, v, accuracy: 1e-4)
    }
}
