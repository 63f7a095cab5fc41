import Foundation
import Tensor

// The pointer-generator output (See et al. 2017; the PAML release's `Generator` with `pointer_gen`): the next
// token comes from the vocabulary or is copied from the source.
//   p = softmax(z) over the V vocabulary logits z        a = softmax(c) over the S source positions (pads excluded)
//   g = σ(γ)                                              q_w = Σ_{s : source_s = w} a_s   (copy mass on word w)
//   P(w) = g p_w + (1 - g) q_w
// One fused op gives -log P(target) and its gradients without materialising P on the tape:
//   ∂L/∂z_j = -(g p_t / P_t) (δ_jt - p_j)
//   ∂L/∂c_s = -((1 - g) a_s / P_t) ([source_s = t] - q_t)
//   ∂L/∂γ   = -(g (1 - g) / P_t) (p_t - q_t)
// Shapes: N = B * T rows; row n belongs to batch item n / T and copies from that item's S source ids.

/// The source side of a pointer-generator batch: ids and padding flags [B * S], T rows per item.
public struct CopySource {
    public let ids: [Int]
    public let padding: [Bool]
    public let length: Int
    public let rowsPerItem: Int

    public init(ids: [Int], padding: [Bool], length: Int, rowsPerItem: Int) {
        ensure(ids.count == padding.count && length > 0 && ids.count % length == 0 && rowsPerItem > 0,
               "CopySource: \(ids.count) ids, \(padding.count) flags, length \(length), \(rowsPerItem) rows per item")
        self.ids = ids
        self.padding = padding
        self.length = length
        self.rowsPerItem = rowsPerItem
    }

    var items: Int { ids.count / length }
}

/// Per row: p (softmax of z), a (softmax of c over the real positions), g; all as flat arrays.
private func pointerGeneratorParts(_ z: Tensor, _ c: Tensor, _ gate: Tensor, _ source: CopySource)
    -> (p: [Float], a: [Float], g: [Float]) {
    let (rows, classes, positions) = (z.shape[0], z.shape[1], source.length)
    var p = [Float](repeating: 0, count: rows * classes)
    var a = [Float](repeating: 0, count: rows * positions)
    var g = [Float](repeating: 0, count: rows)
    z.scalars.withUnsafeBufferPointer { pz in
        c.scalars.withUnsafeBufferPointer { pc in
            p.withUnsafeMutableBufferPointer { pp in
                a.withUnsafeMutableBufferPointer { pa in
                    forEachChunk(rows, minimumPerWorker: rowsPerWorker(classes)) { range, _ in
                        for r in range {
                            let base = r * classes
                            var top = -Float.infinity
                            for j in 0..<classes { top = Swift.max(top, pz[base + j]) }
                            var sum: Float = 0
                            for j in 0..<classes { pp[base + j] = exp(pz[base + j] - top); sum += pp[base + j] }
                            for j in 0..<classes { pp[base + j] /= sum }
                            let item = r / source.rowsPerItem
                            var topC = -Float.infinity
                            for s in 0..<positions where !source.padding[item * positions + s] { topC = Swift.max(topC, pc[r * positions + s]) }
                            var sumC: Float = 0
                            for s in 0..<positions where !source.padding[item * positions + s] {
                                pa[r * positions + s] = exp(pc[r * positions + s] - topC)
                                sumC += pa[r * positions + s]
                            }
                            if sumC > 0 { for s in 0..<positions { pa[r * positions + s] /= sumC } }
                        }
                    }
                }
            }
        }
    }
    for r in 0..<rows { g[r] = 1 / (1 + exp(-gate.scalars[r])) }
    return (p, a, g)
}

/// Mean (over rows whose target is not `ignoreIndex`) of -log P(target). vocabularyLogits [N, V], copyScores [N, S],
/// gate [N, 1].
public func pointerGeneratorLoss(vocabularyLogits: Var, copyScores: Var, gate: Var, source: CopySource,
                                 targets: [Int], ignoreIndex: Int? = nil) -> Var {
    let (rows, classes, positions) = (vocabularyLogits.shape[0], vocabularyLogits.shape[1], source.length)
    ensure(vocabularyLogits.rank == 2 && copyScores.shape == [rows, positions] && gate.shape == [rows, 1],
           "pointerGeneratorLoss: logits \(vocabularyLogits.shape), copy scores \(copyScores.shape), gate \(gate.shape)")
    ensure(targets.count == rows && rows == source.items * source.rowsPerItem,
           "pointerGeneratorLoss: \(targets.count) targets, \(rows) rows, \(source.items) items x \(source.rowsPerItem)")
    let (p, a, g) = pointerGeneratorParts(vocabularyLogits.value, copyScores.value, gate.value, source)
    var q = [Float](repeating: 0, count: rows)   // copy mass on each row's target
    var total = 0.0
    var counted = 0
    for r in 0..<rows where targets[r] != ignoreIndex {
        let t = targets[r]
        ensure(t >= 0 && t < classes, "pointerGeneratorLoss: target \(t) at row \(r) outside 0..<\(classes)")
        let item = r / source.rowsPerItem
        for s in 0..<positions where source.ids[item * positions + s] == t && !source.padding[item * positions + s] {
            q[r] += a[r * positions + s]
        }
        let probability = g[r] * p[r * classes + t] + (1 - g[r]) * q[r]
        total -= log(Double(Swift.max(probability, Float.leastNormalMagnitude)))
        counted += 1
    }
    let divisor = Float(Swift.max(counted, 1))
    return vocabularyLogits.tape.record(Tensor(scalar: Float(total) / divisor), inputs: [vocabularyLogits, copyScores, gate]) { seed, sink in
        let scale = seed.scalars[0] / divisor
        var dz = [Float](repeating: 0, count: rows * classes)
        var dc = [Float](repeating: 0, count: rows * positions)
        var dg = [Float](repeating: 0, count: rows)
        for r in 0..<rows where targets[r] != ignoreIndex {
            let t = targets[r], item = r / source.rowsPerItem
            let pt = p[r * classes + t]
            let probability = Swift.max(g[r] * pt + (1 - g[r]) * q[r], Float.leastNormalMagnitude)
            let vocabularyShare = g[r] * pt / probability
            for j in 0..<classes { dz[r * classes + j] = vocabularyShare * p[r * classes + j] * scale }
            dz[r * classes + t] -= vocabularyShare * scale
            let copyShare = (1 - g[r]) / probability
            for s in 0..<positions where !source.padding[item * positions + s] {
                let hit: Float = source.ids[item * positions + s] == t ? 1 : 0
                dc[r * positions + s] = -copyShare * a[r * positions + s] * (hit - q[r]) * scale
            }
            dg[r] = -(g[r] * (1 - g[r]) / probability) * (pt - q[r]) * scale
        }
        if sink.needs(0) { sink.add(0, Tensor(shape: [rows, classes], scalars: dz)) }
        if sink.needs(1) { sink.add(1, Tensor(shape: [rows, positions], scalars: dc)) }
        if sink.needs(2) { sink.add(2, Tensor(shape: [rows, 1], scalars: dg)) }
    }
}

/// log P(w) for every row and word [N, V] (decoding and perplexity; no tape).
public func pointerGeneratorLogProbabilities(vocabularyLogits: Tensor, copyScores: Tensor, gate: Tensor,
                                             source: CopySource) -> Tensor {
    let (rows, classes, positions) = (vocabularyLogits.shape[0], vocabularyLogits.shape[1], source.length)
    ensure(copyScores.shape == [rows, positions] && gate.shape == [rows, 1] && rows == source.items * source.rowsPerItem,
           "pointerGeneratorLogProbabilities: logits \(vocabularyLogits.shape), copy scores \(copyScores.shape), gate \(gate.shape)")
    var (p, a, g) = pointerGeneratorParts(vocabularyLogits, copyScores, gate, source)
    for r in 0..<rows {
        let item = r / source.rowsPerItem
        for j in 0..<classes { p[r * classes + j] *= g[r] }
        for s in 0..<positions where !source.padding[item * positions + s] {
            p[r * classes + source.ids[item * positions + s]] += (1 - g[r]) * a[r * positions + s]
        }
        for j in 0..<classes { p[r * classes + j] = log(p[r * classes + j]) }
    }
    return Tensor(shape: [rows, classes], scalars: p)
}
