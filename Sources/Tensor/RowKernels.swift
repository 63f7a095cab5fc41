// Row kernels shared by the autograd layers and the forward-only BERT path: SIMD loads and stores of eight
// floats, lane-parallel sums, and layer normalisation of one row. Dimension legend: C channels of a row.

/// Rows per worker below which a row-wise kernel stays on one thread (about 16k floats of work, where
/// the fork/join cost of a few microseconds stops mattering).
@inlinable @inline(__always)
public func rowsPerWorker(_ channels: Int) -> Int { Swift.max(1, 16_384 / Swift.max(channels, 1)) }

extension UnsafeMutablePointer where Pointee == Float {
    /// Writes eight floats starting at `self + i`.
    @inlinable @inline(__always)
    public func storeLanes(_ value: SIMD8<Float>, at i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}

extension UnsafePointer where Pointee == Float {
    /// The eight floats starting at `self + i`.
    @inlinable @inline(__always)
    public func lanes(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self) }
}

/// Σ_{i < count} of a per-element term, eight lanes at a time (`lanes(i)` gives the terms of
/// i ..< i + 8, `tail(i)` one term for the last count % 8): a serial float sum is bound by the add
/// latency, eight independent partial sums are not.
@inlinable @inline(__always)
public func laneSum(_ count: Int, _ lanes: (Int) -> SIMD8<Float>, tail: (Int) -> Float) -> Float {
    var partial = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        partial += lanes(i)
        i += 8
    }
    var total = partial.sum()
    while i < count {
        total += tail(i)
        i += 1
    }
    return total
}

/// Layer normalisation of one row in place: (x - mean) / sqrt(var + epsilon) * gamma + beta, with the biased
/// variance, eight channels at a time. Returns the mean and 1/sigma (the backward pass keeps them).
@inlinable @inline(__always)
@discardableResult
public func layerNormRow(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                         beta: UnsafePointer<Float>, channels: Int, epsilon: Float) -> (mean: Float, rstd: Float) {
    let mean = laneSum(channels) { row.lanes($0) } tail: { row[$0] } / Float(channels)
    let m8 = SIMD8<Float>(repeating: mean)
    let variance = laneSum(channels) { let d = row.lanes($0) - m8; return d * d }
                               tail: { let d = row[$0] - mean; return d * d }
    let rstd = 1 / (variance / Float(channels) + epsilon).squareRoot()
    let r8 = SIMD8<Float>(repeating: rstd)
    var c = 0
    while c + 8 <= channels {
        out.storeLanes((row.lanes(c) - m8) * r8 * gamma.lanes(c) + beta.lanes(c), at: c)
        c += 8
    }
    while c < channels {
        out[c] = (row[c] - mean) * rstd * gamma[c] + beta[c]
        c += 1
    }
    return (mean, rstd)
}
