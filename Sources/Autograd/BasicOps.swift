import Tensor

// Primitive ops with their derivatives beside them. Shapes in comments use the legend in
// Tensor.swift. Bigger ops (attention, layer norm, losses) are fused in their own files.

extension Var {
    /// Elementwise sum of same-shaped values.
    public static func + (a: Var, b: Var) -> Var {
        a.tape.record(a.value + b.value, inputs: [a, b]) { g, sink in
            sink.add(0, g)
            sink.add(1, g)
        }
    }

    /// Elementwise difference of same-shaped values.
    public static func - (a: Var, b: Var) -> Var {
        a.tape.record(a.value - b.value, inputs: [a, b]) { g, sink in
            sink.add(0, g)
            if sink.needs(1) { sink.add(1, g * -1) }
        }
    }

    /// Elementwise product of same-shaped values: d(ab) = b da + a db.
    public static func * (a: Var, b: Var) -> Var {
        let (x, y) = (a.value, b.value)
        return a.tape.record(x * y, inputs: [a, b]) { g, sink in
            if sink.needs(0) { sink.add(0, g * y) }
            if sink.needs(1) { sink.add(1, g * x) }
        }
    }

    /// Multiplication by a constant.
    public static func * (a: Var, s: Float) -> Var {
        a.tape.record(a.value * s, inputs: [a]) { g, sink in sink.add(0, g * s) }
    }

    /// The same elements under another shape.
    public func reshaped(_ shape: [Int]) -> Var {
        let original = self.shape
        return tape.record(value.reshaped(shape), inputs: [self]) { g, sink in
            sink.add(0, g.reshaped(original))
        }
    }

    /// Reorders dimensions; the derivative applies the inverse permutation.
    public func permuted(_ order: [Int]) -> Var {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return tape.record(value.permuted(order), inputs: [self]) { g, sink in
            sink.add(0, g.permuted(inverse))
        }
    }

    /// Sum of all elements, as a scalar.
    public func sum() -> Var {
        let shape = self.shape
        return tape.record(Tensor(scalar: value.sum()), inputs: [self]) { g, sink in
            sink.add(0, Tensor(repeating: g.scalars[0], shape: shape))
        }
    }

    /// Mean of all elements, as a scalar.
    public func mean() -> Var { sum() * (1 / Float(Swift.max(value.count, 1))) }

    /// Adds a bias along the last dimension: x [..., C] + b [C].
    public func addingBias(_ bias: Var) -> Var {
        let channels = bias.value.count
        precondition(shape.last == channels, "bias of \(channels) for input \(shape)")
        var out = value
        bias.value.scalars.withUnsafeBufferPointer { pb in
            out.scalars.withUnsafeMutableBufferPointer { po in
                for row in 0..<(po.count / Swift.max(channels, 1)) {
                    for c in 0..<channels { po[row * channels + c] += pb[c] }
                }
            }
        }
        return tape.record(out, inputs: [self, bias]) { g, sink in
            sink.add(0, g)
            if sink.needs(1) { sink.add(1, sumRows(g, channels: channels)) }
        }
    }
}

/// Sums a [..., C] tensor over all leading dimensions: -> [C].
public func sumRows(_ t: Tensor, channels: Int) -> Tensor {
    var out = [Float](repeating: 0, count: channels)
    t.scalars.withUnsafeBufferPointer { p in
        out.withUnsafeMutableBufferPointer { po in
            for row in 0..<(p.count / Swift.max(channels, 1)) {
                for c in 0..<channels { po[c] += p[row * channels + c] }
            }
        }
    }
    return Tensor(shape: [channels], scalars: out)
}

/// Batched matrix product with optional transposes of the last two dimensions of either operand.
/// a [..., M, K] @ b [..., K, N] -> [..., M, N]; a rank-2 `b` is shared across the batch.
/// Derivatives: dA = dC @ B^T, dB = A^T @ dC (with the transposes folded into the sgemm flags).
public func matmul(_ a: Var, _ b: Var, transposeA: Bool = false, transposeB: Bool = false) -> Var {
    let (x, y) = (a.value, b.value)
    let out = Tensor.matmul(x, y, transposeA: transposeA, transposeB: transposeB)
    return a.tape.record(out, inputs: [a, b]) { g, sink in
        if sink.needs(0) {
            // C = op(A) op(B). d op(A) = dC op(B)^T.
            let gradA = transposeA
                ? Tensor.matmul(y, g, transposeA: transposeB, transposeB: true)   // A^T = ... -> dA = op(B) dC^T
                : Tensor.matmul(g, y, transposeA: false, transposeB: !transposeB)
            sink.add(0, gradA)
        }
        if sink.needs(1) {
            var gradB: Tensor
            if y.rank == 2 && x.rank > 2 {
                // Shared B: fold the batch of A and dC into rows and reduce with one sgemm.
                let rowsA = x.reshaped([-1, x.shape[x.rank - 1]])
                let rowsG = g.reshaped([-1, g.shape[g.rank - 1]])
                precondition(!transposeA, "matmul: shared B with transposeA is not supported")
                gradB = transposeB
                    ? Tensor.matmul(rowsG, rowsA, transposeA: true, transposeB: false)
                    : Tensor.matmul(rowsA, rowsG, transposeA: true, transposeB: false)
            } else {
                gradB = transposeB
                    ? Tensor.matmul(g, x, transposeA: true, transposeB: transposeA)
                    : Tensor.matmul(x, g, transposeA: !transposeA, transposeB: false)
            }
            sink.add(1, gradB)
        }
    }
}

/// Affine map with a PyTorch-layout weight: x [..., In] @ W[Out, In]^T + b [Out] -> [..., Out].
public func linear(_ x: Var, weight: Var, bias: Var?) -> Var {
    let y = matmul(x, weight, transposeB: true)
    return bias.map { y.addingBias($0) } ?? y
}
