import Tensor

/// Row lookup: table [V, C] at `indices` -> [indices.count, C]. The backward pass scatters the
/// output gradient into the rows it came from (`GradientSink.addRows`); repeated indices accumulate.
public func embedding(_ table: Var, indices: [Int]) -> Var {
    ensure(table.rank == 2, "embedding: table must be [V, C], got \(table.shape)")
    let (vocabulary, channels) = (table.shape[0], table.shape[1])
    var out = [Float](repeating: 0, count: indices.count * channels)
    table.value.scalars.withUnsafeBufferPointer { pt in
        out.withUnsafeMutableBufferPointer { po in
            for (i, index) in indices.enumerated() {
                ensure(index >= 0 && index < vocabulary,
                             "embedding: index \(index) at position \(i) outside the table's \(vocabulary) rows")
                let from = index * channels, to = i * channels
                for c in 0..<channels { po[to + c] = pt[from + c] }
            }
        }
    }
    let shape = table.shape
    return table.tape.record(Tensor(shape: [indices.count, channels], scalars: out), inputs: [table]) { g, sink in
        sink.addRows(0, rows: indices, values: g, shape: shape)
    }
}
