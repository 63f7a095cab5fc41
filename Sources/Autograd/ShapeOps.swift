import Tensor

// Shape ops that move data without arithmetic; each derivative moves the gradient back.
// A tensor is viewed around `axis` as [outer, extent, inner] so every copy is a run of extent*inner.

/// Joins tensors along `axis` (negative counts from the end); all other dimensions must agree.
public func concatenate(_ parts: [Var], axis: Int) -> Var {
    ensure(!parts.isEmpty, "concatenate: no tensors")
    let rank = parts[0].rank
    let axis = axis < 0 ? axis + rank : axis
    ensure(axis >= 0 && axis < rank, "concatenate: axis \(axis) for rank \(rank)")
    for part in parts {
        ensure(part.rank == rank && part.shape.enumerated().allSatisfy { $0.offset == axis || $0.element == parts[0].shape[$0.offset] },
                     "concatenate: shape \(part.shape) does not match \(parts[0].shape) off axis \(axis)")
    }
    let outer = Tensor.count(of: Array(parts[0].shape[..<axis]))
    let inner = Tensor.count(of: Array(parts[0].shape[(axis + 1)...]))
    let extents = parts.map { $0.shape[axis] }
    let total = extents.reduce(0, +)
    var shape = parts[0].shape
    shape[axis] = total
    var out = [Float](repeating: 0, count: outer * total * inner)
    var start = 0
    for (part, extent) in zip(parts, extents) {
        copyBlock(part.value, into: &out, outer: outer, run: extent * inner, fromOffset: 0, fromStride: extent * inner,
                  toOffset: start * inner, toStride: total * inner)
        start += extent
    }
    let outShape = shape
    return parts[0].tape.record(Tensor(shape: outShape, scalars: out), inputs: parts) { g, sink in
        var start = 0
        for (slot, extent) in extents.enumerated() {
            if sink.needs(slot) {
                var partShape = outShape
                partShape[axis] = extent
                var grad = [Float](repeating: 0, count: outer * extent * inner)
                copyBlock(g, into: &grad, outer: outer, run: extent * inner, fromOffset: start * inner,
                          fromStride: total * inner, toOffset: 0, toStride: extent * inner)
                sink.add(slot, Tensor(shape: partShape, scalars: grad))
            }
            start += extent
        }
    }
}

/// The positions `range` of `axis` (negative counts from the end).
public func slice(_ x: Var, axis: Int, range: Range<Int>) -> Var {
    let axis = axis < 0 ? axis + x.rank : axis
    ensure(axis >= 0 && axis < x.rank && range.lowerBound >= 0 && range.upperBound <= x.shape[axis],
                 "slice: range \(range) of axis \(axis) in shape \(x.shape)")
    let outer = Tensor.count(of: Array(x.shape[..<axis]))
    let inner = Tensor.count(of: Array(x.shape[(axis + 1)...]))
    let extent = x.shape[axis]
    var shape = x.shape
    shape[axis] = range.count
    var out = [Float](repeating: 0, count: outer * range.count * inner)
    copyBlock(x.value, into: &out, outer: outer, run: range.count * inner, fromOffset: range.lowerBound * inner,
              fromStride: extent * inner, toOffset: 0, toStride: range.count * inner)
    let inputShape = x.shape
    return x.tape.record(Tensor(shape: shape, scalars: out), inputs: [x]) { g, sink in
        var grad = [Float](repeating: 0, count: outer * extent * inner)
        copyBlock(g, into: &grad, outer: outer, run: range.count * inner, fromOffset: 0,
                  fromStride: range.count * inner, toOffset: range.lowerBound * inner, toStride: extent * inner)
        sink.add(0, Tensor(shape: inputShape, scalars: grad))
    }
}

/// Swaps the last two dimensions: [..., M, N] -> [..., N, M].
public func transposeLastTwo(_ x: Var) -> Var {
    x.tape.record(x.value.transposedLastTwo(), inputs: [x]) { g, sink in
        sink.add(0, g.transposedLastTwo())
    }
}

/// Σ x² over all elements, as a scalar (L2 penalties); d/dx = 2x.
public func squaredSum(_ x: Var) -> Var {
    let input = x.value
    return x.tape.record(Tensor(scalar: Float(input.squaredNorm())), inputs: [x]) { g, sink in
        sink.add(0, input * (2 * g.scalars[0]))
    }
}

/// For each of `outer` blocks, copies `run` contiguous scalars from source offset
/// `fromOffset + o * fromStride` to destination offset `toOffset + o * toStride`.
private func copyBlock(_ source: Tensor, into destination: inout [Float], outer: Int, run: Int,
                       fromOffset: Int, fromStride: Int, toOffset: Int, toStride: Int) {
    source.scalars.withUnsafeBufferPointer { src in
        destination.withUnsafeMutableBufferPointer { dst in
            for o in 0..<outer {
                let from = fromOffset + o * fromStride, to = toOffset + o * toStride
                for i in 0..<run { dst[to + i] = src[from + i] }
            }
        }
    }
}
