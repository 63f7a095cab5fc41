import Foundation
import XCTest
@testable import Metrics

final class BootstrapTests: XCTestCase {
    func testQuantileInterpolatesLikeNumpy() {
        // numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]
        XCTAssertEqual(Bootstrap.quantile([1, 2, 3, 4], 0.025), 1.075, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile([1, 2, 3, 4], 0.5), 2.5, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile([1, 2, 3, 4], 0.975), 3.925, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile([7], 0.3), 7)
    }

    func testConstantUnitsGiveAZeroWidthInterval() {
        let sample = RatioSample(numerators: [3, 3, 3, 3], denominators: [10, 10, 10, 10])
        let i = Bootstrap.ratio(sample, resamples: 200)
        XCTAssertEqual(i.estimate, 0.3, accuracy: 1e-12)
        XCTAssertEqual(i.lower, 0.3, accuracy: 1e-12)
        XCTAssertEqual(i.upper, 0.3, accuracy: 1e-12)
        // Identical systems: the paired difference is exactly 0.
        let d = Bootstrap.pairedDifference(sample, sample, resamples: 200)
        XCTAssertEqual(d, BootstrapInterval(estimate: 0, lower: 0, upper: 0))
    }

    /// Units drawn from a known distribution: the interval's width matches ±1.96 standard errors, and over
    /// repeated experiments it covers the true value about 95% of the time.
    func testWidthAndCoverageOnSimulatedUsers() {
        var rng = SplitMix(seed: 11)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        let p = 0.6, users = 200, episodes = 10
        var covered = 0
        let experiments = 200
        for e in 0..<experiments {
            let successes = (0..<users).map { _ in Double((0..<episodes).filter { _ in uniform() < p }.count) }
            let sample = RatioSample(numerators: successes, denominators: [Double](repeating: Double(episodes), count: users))
            let i = Bootstrap.ratio(sample, resamples: 400, seed: UInt64(e + 1))
            XCTAssertLessThanOrEqual(i.lower, i.estimate)
            XCTAssertGreaterThanOrEqual(i.upper, i.estimate)
            if i.lower <= p && p <= i.upper { covered += 1 }
            if e == 0 {
                let se = (p * (1 - p) / Double(users * episodes)).squareRoot()
                XCTAssertEqual(i.upper - i.lower, 2 * 1.96 * se, accuracy: 0.25 * 2 * 1.96 * se)
            }
        }
        // 95% nominal; binomial sd over 200 experiments is 1.5 points.
        XCTAssertEqual(Double(covered) / Double(experiments), 0.95, accuracy: 0.05)
    }

    func testPairedDifferenceIsNarrowerThanUnpairedWhenUnitsShareDifficulty() {
        // Each user has a difficulty both systems share; system a succeeds 1 more episode in 10.
        var rng = SplitMix(seed: 5)
        let base = (0..<300).map { _ in Double(rng.next() % 9) }
        let a = RatioSample(numerators: base.map { $0 + 1 }, denominators: [Double](repeating: 10, count: 300))
        let b = RatioSample(numerators: base, denominators: [Double](repeating: 10, count: 300))
        let d = Bootstrap.pairedDifference(a, b, resamples: 500)
        XCTAssertEqual(d.estimate, 0.1, accuracy: 1e-12)
        XCTAssertEqual(d.lower, 0.1, accuracy: 1e-12)   // every unit differs by exactly 0.1
        XCTAssertTrue(d.excludes(0))
        // Alone, each system's interval is wide: the shared difficulty is what pairing cancels.
        let ia = Bootstrap.ratio(a, resamples: 500)
        XCTAssertGreaterThan(ia.upper - ia.lower, 0.02)
    }

    func testSameSeedSameInterval() {
        let s = RatioSample(numerators: [1, 5, 2, 8, 0, 3], denominators: [10, 10, 10, 10, 10, 10])
        XCTAssertEqual(Bootstrap.ratio(s, seed: 3), Bootstrap.ratio(s, seed: 3))
        XCTAssertNotEqual(Bootstrap.ratio(s, seed: 3), Bootstrap.ratio(s, seed: 4))
    }
}
