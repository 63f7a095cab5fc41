import Foundation

// Percentile bootstrap intervals over independent units (test users, personas): resample the units with
// replacement, recompute the statistic, take the (1 - c) / 2 and (1 + c) / 2 quantiles (linear
// interpolation between order statistics, as numpy.quantile's default). A paired difference resamples the
// same units for both systems, so what the units share cancels.

/// An estimate with its bootstrap interval.
public struct BootstrapInterval: Codable, Equatable, Sendable {
    public var estimate: Double
    public var lower: Double
    public var upper: Double

    public init(estimate: Double, lower: Double, upper: Double) {
        self.estimate = estimate
        self.lower = lower
        self.upper = upper
    }

    /// Does the interval exclude `value` (for a difference: 0)?
    public func excludes(_ value: Double) -> Bool { value < lower || value > upper }
}

/// Per-unit sums of a ratio statistic Σ numerator / Σ denominator (successes / episodes, turns / episodes).
public struct RatioSample: Sendable {
    public var numerators: [Double]
    public var denominators: [Double]

    public init(numerators: [Double], denominators: [Double]) {
        precondition(numerators.count == denominators.count, "RatioSample: \(numerators.count) numerators, \(denominators.count) denominators")
        self.numerators = numerators
        self.denominators = denominators
    }

    public var count: Int { numerators.count }

    /// The ratio over the units at `indices` (repeats count again); 0 when the denominators sum to 0.
    public func ratio(_ indices: [Int]) -> Double {
        var n = 0.0, d = 0.0
        for i in indices {
            n += numerators[i]
            d += denominators[i]
        }
        return d == 0 ? 0 : n / d
    }

    public var ratio: Double { ratio(Array(0..<count)) }
}

public enum Bootstrap {
    /// The interval of `statistic` (a function of resampled unit indices) over `units` units.
    public static func interval(units: Int, resamples: Int = 2000, confidence: Double = 0.95, seed: UInt64 = 1,
                                statistic: ([Int]) -> Double) -> BootstrapInterval {
        precondition(units > 0 && resamples > 1 && confidence > 0 && confidence < 1, "Bootstrap: bad arguments")
        let estimate = statistic(Array(0..<units))
        var rng = SplitMix(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var indices = [Int](repeating: 0, count: units)
        for _ in 0..<resamples {
            for k in 0..<units { indices[k] = Int(rng.next() % UInt64(units)) }
            values.append(statistic(indices))
        }
        values.sort()
        return BootstrapInterval(estimate: estimate, lower: quantile(values, (1 - confidence) / 2),
                                 upper: quantile(values, (1 + confidence) / 2))
    }

    /// Σ numerator / Σ denominator with its interval.
    public static func ratio(_ sample: RatioSample, resamples: Int = 2000, confidence: Double = 0.95,
                             seed: UInt64 = 1) -> BootstrapInterval {
        interval(units: sample.count, resamples: resamples, confidence: confidence, seed: seed) { sample.ratio($0) }
    }

    /// ratio(a) - ratio(b) over the same units, resampled together.
    public static func pairedDifference(_ a: RatioSample, _ b: RatioSample, resamples: Int = 2000,
                                        confidence: Double = 0.95, seed: UInt64 = 1) -> BootstrapInterval {
        precondition(a.count == b.count, "Bootstrap.pairedDifference: \(a.count) and \(b.count) units")
        return interval(units: a.count, resamples: resamples, confidence: confidence, seed: seed) { a.ratio($0) - b.ratio($0) }
    }

    /// The q-quantile of sorted values, linear interpolation between order statistics.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty, "quantile of nothing")
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (position - Double(low)) * (sorted[high] - sorted[low])
    }
}

/// SplitMix64: a small seeded generator, so this module needs no other.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
