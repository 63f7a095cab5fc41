import Foundation
import Tensor

// Losses: fused softmax + cross-entropy (with label smoothing and an ignored target id), the
// non-differentiable NLL totals perplexity is computed from, and the binary (sigmoid) losses.
// Shapes: logits [N, V] (N rows, V classes).

/// How a per-row loss is reduced to a scalar.
public enum LossReduction { case mean, sum }

/// Cross-entropy of softmax(logits) against integer targets, fused so the backward pass is
/// p - q without materialising log-probabilities on the tape.
///
/// With label smoothing ε (as PyTorch's `CrossEntropyLoss(label_smoothing:)`), the row loss is
/// (1 - ε) * (-log p_t) + ε * mean_c(-log p_c), i.e. cross-entropy against q = (1 - ε) onehot(t) + ε / V;
/// d loss / d logits = p - q. Rows whose target is `ignoreIndex` contribute nothing; `.mean` divides by
/// the number of remaining rows (0 rows give a loss of 0 and zero gradients, not NaN).
public func crossEntropy(
    logits: Var, targets: [Int], ignoreIndex: Int? = nil, labelSmoothing: Float = 0,
    reduction: LossReduction = .mean
) -> Var {
    ensure(logits.rank == 2, "crossEntropy: logits must be [N, V], got \(logits.shape)")
    let (rows, classes) = (logits.shape[0], logits.shape[1])
    ensure(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits")
    ensure(labelSmoothing >= 0 && labelSmoothing <= 1, "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1]")
    let smoothing = Double(labelSmoothing)
    var counted = 0
    for (r, target) in targets.enumerated() where target != ignoreIndex {
        ensure(target >= 0 && target < classes, "crossEntropy: target \(target) at row \(r) outside 0..<\(classes)")
        counted += 1
    }
    // probabilities [N, V]: softmax of the kept rows (ignored rows stay zero); rows split over the BLAS threads.
    var probabilities = [Float](repeating: 0, count: rows * classes)
    var rowLoss = [Double](repeating: 0, count: rows)
    logits.value.scalars.withUnsafeBufferPointer { px in
        probabilities.withUnsafeMutableBufferPointer { pp in
            rowLoss.withUnsafeMutableBufferPointer { pl in
                forEachChunk(rows, minimumPerWorker: rowsPerWorker(classes)) { range, _ in
                    for r in range {
                        let target = targets[r]
                        if target == ignoreIndex { continue }
                        let base = r * classes
                        var maxValue = -Float.infinity
                        for c in 0..<classes { maxValue = Swift.max(maxValue, px[base + c]) }
                        var sum = 0.0
                        var logitSum = 0.0
                        for c in 0..<classes {
                            let e = exp(px[base + c] - maxValue)
                            pp[base + c] = e
                            sum += Double(e)
                            logitSum += Double(px[base + c])
                        }
                        let logZ = Double(maxValue) + log(sum)
                        let inverse = Float(1 / sum)
                        for c in 0..<classes { pp[base + c] *= inverse }
                        let nll = logZ - Double(px[base + target])
                        let smooth = logZ - logitSum / Double(classes)   // mean over classes of -log p_c
                        pl[r] = (1 - smoothing) * nll + smoothing * smooth
                    }
                }
            }
        }
    }
    let total = rowLoss.reduce(0, +)
    let divisor: Float = reduction == .mean ? Float(Swift.max(counted, 1)) : 1
    let value = Tensor(scalar: Float(total) / divisor)
    let (p, eps) = (probabilities, labelSmoothing)
    return logits.tape.record(value, inputs: [logits]) { g, sink in
        let scale = g.scalars[0] / divisor
        var grad = p
        grad.withUnsafeMutableBufferPointer { pg in
            forEachChunk(rows, minimumPerWorker: rowsPerWorker(classes)) { range, _ in
                for r in range {
                    let target = targets[r]
                    if target == ignoreIndex { continue }   // the row of p is already zero
                    let base = r * classes
                    for c in 0..<classes { pg[base + c] = (pg[base + c] - eps / Float(classes)) * scale }
                    pg[base + target] -= (1 - eps) * scale
                }
            }
        }
        sink.add(0, Tensor(shape: [rows, classes], scalars: grad))
    }
}

/// Sum of -log softmax(logits)[target] over the rows whose target is not `ignoreIndex`, in Double,
/// and how many rows that was: perplexity = exp(total / count), summed over a whole corpus first.
public func negativeLogLikelihood(logits: Tensor, targets: [Int], ignoreIndex: Int?) -> (total: Double, count: Int) {
    ensure(logits.rank == 2 && targets.count == logits.shape[0],
                 "negativeLogLikelihood: \(targets.count) targets for logits \(logits.shape)")
    let classes = logits.shape[1]
    var total = 0.0
    var count = 0
    logits.scalars.withUnsafeBufferPointer { px in
        for (r, target) in targets.enumerated() where target != ignoreIndex {
            ensure(target >= 0 && target < classes, "negativeLogLikelihood: target \(target) at row \(r) outside 0..<\(classes)")
            let base = r * classes
            var maxValue = -Float.infinity
            for c in 0..<classes { maxValue = Swift.max(maxValue, px[base + c]) }
            var sum = 0.0
            for c in 0..<classes { sum += Double(exp(px[base + c] - maxValue)) }
            total += Double(maxValue) + log(sum) - Double(px[base + target])
            count += 1
        }
    }
    return (total, count)
}

/// log softmax over the last axis: x - max - log Σ exp(x - max). For decoding (no tape).
public func logSoftmaxRows(_ logits: Tensor) -> Tensor {
    let cols = logits.shape.last ?? 0
    var out = logits
    out.scalars.withUnsafeMutableBufferPointer { p in
        for r in 0..<(p.count / Swift.max(cols, 1)) {
            let base = r * cols
            var maxValue = -Float.infinity
            for c in 0..<cols { maxValue = Swift.max(maxValue, p[base + c]) }
            var sum: Float = 0
            for c in 0..<cols { sum += exp(p[base + c] - maxValue) }
            let logZ = maxValue + log(sum)
            for c in 0..<cols { p[base + c] -= logZ }
        }
    }
    return out
}

/// Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1] (same shape), in the stable
/// form max(x, 0) - x t + log(1 + e^-|x|); d/dx = (σ(x) - t) / count.
public func binaryCrossEntropyWithLogits(_ logits: Var, targets: Tensor) -> Var {
    ensure(logits.shape == targets.shape, "binaryCrossEntropyWithLogits: logits \(logits.shape) vs targets \(targets.shape)")
    let x = logits.value
    let count = Float(Swift.max(x.count, 1))
    let losses = Tensor.zipMap(x, targets) { xi, ti in Swift.max(xi, 0) - xi * ti + log1p(exp(-abs(xi))) }
    return logits.tape.record(Tensor(scalar: losses.sum() / count), inputs: [logits]) { g, sink in
        let scale = g.scalars[0] / count
        sink.add(0, Tensor.zipMap(x, targets) { xi, ti in (stableSigmoid(xi) - ti) * scale })
    }
}

/// log σ(x) = min(x, 0) - log(1 + e^-|x|), elementwise and stable; d/dx = 1 - σ(x) = σ(-x).
public func logSigmoid(_ x: Var) -> Var {
    let input = x.value
    let out = input.map { Swift.min($0, 0) - log1p(exp(-abs($0))) }
    return x.tape.record(out, inputs: [x]) { g, sink in
        sink.add(0, Tensor.zipMap(g, input) { gi, xi in gi * stableSigmoid(-xi) })
    }
}
