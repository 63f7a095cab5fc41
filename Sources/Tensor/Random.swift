import Foundation

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64) so that every run
/// with the same seed makes the same weights, samples and splits on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Standard normal (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float(sqrt(-2 * log(Swift.max(u1, 1e-300))) * cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// Normal(0, std) elements.
    public static func randomNormal(_ shape: [Int], std: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { _ in rng.nextNormal() * std })
    }

    /// Uniform(-bound, bound) elements.
    public static func randomUniform(_ shape: [Int], bound: Float, using rng: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { _ in (rng.nextUniform() * 2 - 1) * bound })
    }

    /// Xavier/Glorot uniform init for a [fanOut, fanIn] or [fanIn, fanOut] weight.
    public static func xavierUniform(_ shape: [Int], using rng: inout SeededGenerator) -> Tensor {
        precondition(shape.count == 2, "xavierUniform needs a matrix shape")
        let bound = (6.0 / Float(shape[0] + shape[1])).squareRoot()
        return randomUniform(shape, bound: bound, using: &rng)
    }
}
