// Elementwise arithmetic and reductions on whole tensors (no broadcasting beyond scalars; the
// autograd ops handle the row-broadcast of biases). Loops run on unsafe buffers.

extension Tensor {
    /// Applies `body` to every element pair of two same-shaped tensors.
    @inlinable
    public static func zipMap(_ a: Tensor, _ b: Tensor, _ body: (Float, Float) -> Float) -> Tensor {
        precondition(a.shape == b.shape, "elementwise op on shapes \(a.shape) and \(b.shape)")
        var out = [Float](repeating: 0, count: a.count)
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    for i in 0..<po.count { po[i] = body(pa[i], pb[i]) }
                }
            }
        }
        return Tensor(shape: a.shape, scalars: out)
    }

    /// Applies `body` to every element.
    @inlinable
    public func map(_ body: (Float) -> Float) -> Tensor {
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { po in
                for i in 0..<po.count { po[i] = body(p[i]) }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zipMap(a, b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }

    /// In-place `self += scale * other` (BLAS axpy semantics).
    @inlinable
    public mutating func addScaled(_ other: Tensor, scale: Float = 1) {
        precondition(shape == other.shape, "addScaled on shapes \(shape) and \(other.shape)")
        other.scalars.withUnsafeBufferPointer { po in
            scalars.withUnsafeMutableBufferPointer { ps in
                for i in 0..<ps.count { ps[i] += scale * po[i] }
            }
        }
    }

    /// In-place multiplication by a scalar.
    @inlinable
    public mutating func scale(by s: Float) {
        scalars.withUnsafeMutableBufferPointer { ps in
            for i in 0..<ps.count { ps[i] *= s }
        }
    }

    /// Sum of all elements, accumulated in Double so long tensors do not lose precision.
    public func sum() -> Float {
        scalars.withUnsafeBufferPointer { p in
            var total = 0.0
            for x in p { total += Double(x) }
            return Float(total)
        }
    }

    /// Sum of squares of all elements (in Double).
    public func squaredNorm() -> Double {
        scalars.withUnsafeBufferPointer { p in
            var total = 0.0
            for x in p { total += Double(x) * Double(x) }
            return total
        }
    }

    /// Largest absolute element difference to a same-shaped tensor.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference on shapes \(shape) and \(other.shape)")
        var worst: Float = 0
        for i in 0..<count { worst = Swift.max(worst, abs(scalars[i] - other.scalars[i])) }
        return worst
    }

    /// Index of the largest element of each row of a [N, V] tensor.
    public func argmaxRows() -> [Int] {
        let cols = shape[rank - 1]
        let rows = count / Swift.max(cols, 1)
        return scalars.withUnsafeBufferPointer { p in
            (0..<rows).map { r in
                var best = 0
                for c in 1..<cols where p[r * cols + c] > p[r * cols + best] { best = c }
                return best
            }
        }
    }
}
