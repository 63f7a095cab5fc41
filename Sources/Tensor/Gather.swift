extension Tensor {
    /// Slices of the first dimension in the given order (repeats allowed): [N, ...] -> [indices.count, ...].
    /// Beam search uses it to reorder per-hypothesis state after each step.
    public func gatheringRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gatheringRows of a scalar")
        let rowSize = count / Swift.max(shape[0], 1)
        var out = [Float](repeating: 0, count: indices.count * rowSize)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (i, row) in indices.enumerated() {
                    precondition(row >= 0 && row < shape[0], "row \(row) of \(shape[0])")
                    for c in 0..<rowSize { dst[i * rowSize + c] = src[row * rowSize + c] }
                }
            }
        }
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape, scalars: out)
    }
}
