import Foundation

// Tensor: float32, row-major, contiguous. The one array type every model in the project uses.
//
// Dimension legend used in shape comments across the project:
//   B batch, T time (sequence), S source time, C channels (model width), H heads, D head depth,
//   F feed-forward width, V vocabulary, N rows of a flattened batch (B*T).
//
// Design notes
// - Storage is a Swift Array, so a Tensor is a value: copying is cheap until one side writes
//   (copy-on-write). MAML relies on this: adapted weights are new values, the meta-model is untouched.
// - Hot loops run on unsafe buffers (`withUnsafeBufferPointer`) to stay out of bounds and
//   exclusivity checks; matrix products go to OpenBLAS (see Matmul.swift).

/// A dense float32 array in row-major order.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension; `[]` is a scalar.
    public private(set) var shape: [Int]
    /// Elements in row-major order; `scalars.count == shape.product`.
    public var scalars: [Float]

    /// A tensor with the given shape and elements. Traps if the counts disagree (a programming error).
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(Tensor.count(of: shape) == scalars.count,
                     "shape \(shape) needs \(Tensor.count(of: shape)) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor filled with one value.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: Tensor.count(of: shape)))
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A scalar (rank-0) tensor.
    public init(scalar: Float) { self.init(shape: [], scalars: [scalar]) }

    /// A rank-1 tensor.
    public init(_ values: [Float]) { self.init(shape: [values.count], scalars: values) }

    /// Number of elements a shape holds.
    @inlinable public static func count(of shape: [Int]) -> Int { shape.reduce(1, *) }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(scalars.count == 1, "scalar of a tensor with shape \(shape)")
        return scalars[0]
    }

    /// Row-major strides.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// Element at a multi-index (slow path for tests and small code; kernels use buffers).
    public subscript(_ index: Int...) -> Float {
        get { scalars[offset(index)] }
        set { scalars[offset(index)] = newValue }
    }

    private func offset(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// The same elements under another shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[unknown] = count / known
        }
        return Tensor(shape: resolved, scalars: scalars)
    }

    /// Rows `range` of the first dimension.
    public func slice(rows range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) of shape \(shape)")
        let rowSize = count / Swift.max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape,
                      scalars: Array(scalars[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)]))
    }

    /// Concatenation along the first dimension.
    public static func concatenate(rows parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "concatenate of no tensors")
        let tail = Array(parts[0].shape.dropFirst())
        var rows = 0
        var scalars: [Float] = []
        scalars.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts {
            precondition(Array(part.shape.dropFirst()) == tail, "concatenate: \(part.shape) vs tail \(tail)")
            rows += part.shape[0]
            scalars.append(contentsOf: part.scalars)
        }
        return Tensor(shape: [rows] + tail, scalars: scalars)
    }

    /// Swaps the last two dimensions (a batched matrix transpose).
    public func transposedLastTwo() -> Tensor {
        precondition(rank >= 2, "transpose of rank-\(rank) tensor")
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let batch = count / Swift.max(rows * cols, 1)
        var out = [Float](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    let base = b * rows * cols
                    for r in 0..<rows {
                        for c in 0..<cols { dst[base + c * rows + r] = src[base + r * cols + c] }
                    }
                }
            }
        }
        var newShape = shape
        newShape.swapAt(rank - 2, rank - 1)
        return Tensor(shape: newShape, scalars: out)
    }

    /// Reorders dimensions: result dimension i is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) for rank \(rank)")
        let newShape = order.map { shape[$0] }
        let inStrides = strides
        let mappedStrides = order.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var source = 0
                for flat in 0..<dst.count {
                    dst[flat] = src[source]
                    // Odometer increment over the output index, tracking the source offset.
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        source += mappedStrides[axis]
                        if index[axis] < newShape[axis] { break }
                        source -= mappedStrides[axis] * newShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(preview)\(count > 8 ? ", ..." : "")])"
    }
}

