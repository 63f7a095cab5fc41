import XCTest
@testable import Metrics

final class DistinctTests: XCTestCase {
    /// Counted by hand: responses "i like cats", "i like dogs too", "i i i".
    func testCorpusCounts() {
        var distinct = DistinctAccumulator(orders: [1, 2])
        distinct.accumulate(response: "i like cats")
        distinct.accumulate(response: "i like dogs too")
        distinct.accumulate(tokens: ["i", "i", "i"])
        // unigrams: 10 total; distinct {i, like, cats, dogs, too} = 5
        // bigrams: 2 + 3 + 2 = 7 total; distinct {i like, like cats, like dogs, dogs too, i i} = 5
        XCTAssertEqual(distinct.counts(order: 1).distinct, 5)
        XCTAssertEqual(distinct.counts(order: 1).total, 10)
        XCTAssertEqual(distinct.counts(order: 2).distinct, 5)
        XCTAssertEqual(distinct.counts(order: 2).total, 7)
        let m = distinct.measure()
        XCTAssertEqual(m[1]!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m[2]!, 5.0 / 7.0, accuracy: 1e-12)
        distinct.reset()
        XCTAssertEqual(distinct.measure()[1]!, 0)
        XCTAssertEqual(distinct.counts(order: 2).total, 0)
    }

    /// Bigrams do not cross response boundaries; one-word responses add no bigram.
    func testNoCrossResponseNgrams() {
        var distinct = DistinctAccumulator(orders: [2])
        distinct.accumulate(response: "a")
        distinct.accumulate(response: "b")
        XCTAssertEqual(distinct.counts(order: 2).total, 0)
        distinct.accumulate(response: "a b a b")
        XCTAssertEqual(distinct.counts(order: 2).distinct, 2)
        XCTAssertEqual(distinct.measure()[2]!, 2.0 / 3.0, accuracy: 1e-12)
    }
}
