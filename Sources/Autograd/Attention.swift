import Foundation
import Tensor

// Softmax and fused scaled dot-product attention (Vaswani et al. 2017), plus the head split/merge
// around it. Shapes: B batch, H heads, Tq query time, Tk key time, D head depth, C = H * D.

/// Which keys each query may not see.
public struct AttentionMask {
    /// B * Tk flags, row-major by batch; true = the key is padding and is never attended to.
    public var keyPadding: [Bool]?
    /// Query i may see keys 0...(Tk - Tq + i): with Tq == Tk the usual triangle, with Tq < Tk the queries
    /// are the last Tq positions of a sequence whose earlier keys come from a cache (incremental decoding).
    public var causal: Bool

    public init(keyPadding: [Bool]? = nil, causal: Bool = false) {
        self.keyPadding = keyPadding
        self.causal = causal
    }
}

/// Softmax over the last axis: y = exp(x - max) / Σ exp(x - max); dx = y * (dy - Σ dy * y).
public func softmax(_ x: Var) -> Var {
    let cols = x.shape.last ?? 0
    var out = x.value
    out.scalars.withUnsafeMutableBufferPointer { p in
        for r in 0..<(p.count / Swift.max(cols, 1)) {
            softmaxInPlace(p.baseAddress! + r * cols, count: cols)
        }
    }
    let y = out
    return x.tape.record(y, inputs: [x]) { g, sink in
        sink.add(0, softmaxBackward(y, g, scale: 1))
    }
}

/// Fused attention: softmax(Q K^T / √D + mask) (with dropout on the probabilities when
/// `graph?.training`) @ V. query [B,H,Tq,D], key and value [B,H,Tk,D] -> [B,H,Tq,D].
///
/// Masked scores are excluded from the softmax (the -inf convention); a query with no visible key gets
/// an all-zero probability row, hence a zero output and zero gradients, never NaN.
/// Backward, with P the probabilities, M the dropout mask (1/(1-p) or 0) and A = P * M:
/// dV = A^T dO, dP = (dO V^T) * M, dS = P * (dP - Σ_j dP P) / √D, dQ = dS K, dK = dS^T Q.
public func scaledDotProductAttention(
    query: Var, key: Var, value: Var, mask: AttentionMask, dropout: Float = 0, graph: Graph? = nil
) -> Var {
    ensure(query.rank == 4, "attention: query must be [B,H,Tq,D], got \(query.shape)")
    let (batch, heads, queries, depth) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let keys = key.shape.count == 4 ? key.shape[2] : -1
    ensure(key.shape == [batch, heads, keys, depth] && value.shape == key.shape,
                 "attention: query \(query.shape), key \(key.shape), value \(value.shape) disagree")
    if let padding = mask.keyPadding {
        ensure(padding.count == batch * keys, "attention: keyPadding has \(padding.count) flags, need B*Tk = \(batch * keys)")
    }
    ensure(!mask.causal || queries <= keys, "attention: causal mask with Tq \(queries) > Tk \(keys)")
    ensure(dropout >= 0 && dropout < 1, "attention: dropout rate \(dropout) outside [0, 1)")
    let q = query.value, k = key.value, v = value.value
    let scale = 1 / Float(depth).squareRoot()

    // Probabilities P [B,H,Tq,Tk], masked and normalised in place over the raw scores.
    var probs = Tensor.matmul(q, k, transposeB: true)   // [B,H,Tq,Tk]
    let padding = mask.keyPadding ?? []
    let offset = keys - queries
    probs.scalars.withUnsafeMutableBufferPointer { p in
        padding.withUnsafeBufferPointer { pad in
          forEachChunk(batch * heads, minimumPerWorker: rowsPerWorker(queries * keys)) { blocks, _ in
            for block in blocks {
                let padBase = (block / heads) * keys
                for i in 0..<queries {
                    let row = p.baseAddress! + (block * queries + i) * keys
                    let visible = mask.causal ? Swift.min(keys, offset + i + 1) : keys
                    var maxScore = -Float.infinity
                    for j in 0..<visible where pad.isEmpty || !pad[padBase + j] {
                        maxScore = Swift.max(maxScore, row[j] * scale)
                    }
                    if maxScore == -Float.infinity {
                        for j in 0..<keys { row[j] = 0 }
                        continue
                    }
                    var sum: Float = 0
                    for j in 0..<keys {
                        if j < visible && (pad.isEmpty || !pad[padBase + j]) {
                            let e = exp(row[j] * scale - maxScore)
                            row[j] = e
                            sum += e
                        } else {
                            row[j] = 0
                        }
                    }
                    let inverse = 1 / sum
                    for j in 0..<visible { row[j] *= inverse }
                }
            }
          }
        }
    }

    // Inverted dropout on the probabilities: A = P * M.
    var dropMask: Tensor? = nil
    var attended = probs
    if let graph, graph.training, dropout > 0 {
        let keep = 1 / (1 - dropout)
        var m = [Float](repeating: 0, count: probs.count)
        for i in 0..<m.count { m[i] = graph.rng.nextUniform() < dropout ? 0 : keep }
        let maskTensor = Tensor(shape: probs.shape, scalars: m)
        attended = probs * maskTensor
        dropMask = maskTensor
    }
    let out = Tensor.matmul(attended, v)   // [B,H,Tq,D]
    let (p, a) = (probs, attended)
    return query.tape.record(out, inputs: [query, key, value]) { g, sink in
        if sink.needs(2) { sink.add(2, Tensor.matmul(a, g, transposeA: true)) }   // [B,H,Tk,D]
        guard sink.needs(0) || sink.needs(1) else { return }
        var dP = Tensor.matmul(g, v, transposeB: true)   // [B,H,Tq,Tk]
        if let dropMask { dP = dP * dropMask }
        let dS = softmaxBackward(p, dP, scale: scale)    // [B,H,Tq,Tk]
        if sink.needs(0) { sink.add(0, Tensor.matmul(dS, k)) }                     // [B,H,Tq,D]
        if sink.needs(1) { sink.add(1, Tensor.matmul(dS, q, transposeA: true)) }   // [B,H,Tk,D]
    }
}

/// [B,T,C] -> [B,H,T,D] with C = H * D (head h takes channels h*D ..< (h+1)*D).
public func splitHeads(_ x: Var, heads: Int) -> Var {
    ensure(x.rank == 3 && heads > 0 && x.shape[2] % heads == 0,
                 "splitHeads: [B,T,C] with C divisible by \(heads) heads, got \(x.shape)")
    let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
    let out = swapMiddleAxes(x.value, [b, t, heads, c / heads])   // [B,H,T,D]
    return x.tape.record(out, inputs: [x]) { g, sink in
        sink.add(0, swapMiddleAxes(g, [b, heads, t, c / heads]).reshaped([b, t, c]))
    }
}

/// [B,H,T,D] -> [B,T,C] with C = H * D, the inverse of `splitHeads`.
public func mergeHeads(_ x: Var) -> Var {
    ensure(x.rank == 4, "mergeHeads: expected [B,H,T,D], got \(x.shape)")
    let (b, h, t, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let out = swapMiddleAxes(x.value, [b, h, t, d]).reshaped([b, t, h * d])   // [B,T,C]
    return x.tape.record(out, inputs: [x]) { g, sink in
        sink.add(0, swapMiddleAxes(g, [b, t, h, d]))
    }
}

/// Reads `t` as [A, M, N, D] and returns [A, N, M, D], copying contiguous runs of D.
func swapMiddleAxes(_ t: Tensor, _ shape: [Int]) -> Tensor {
    let (a, m, n, d) = (shape[0], shape[1], shape[2], shape[3])
    var out = uninitializedScalars(t.count)   // a permutation: every element is written below
    t.scalars.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<a {
                for j in 0..<m {
                    for l in 0..<n {
                        let from = ((i * m + j) * n + l) * d, to = ((i * n + l) * m + j) * d
                        for c in 0..<d { dst[to + c] = src[from + c] }
                    }
                }
            }
        }
    }
    return Tensor(shape: [a, n, m, d], scalars: out)
}

/// Normalises `count` values in place to their softmax.
@inline(__always)
func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maxValue = row[0]
    for j in 1..<count { maxValue = Swift.max(maxValue, row[j]) }
    var sum: Float = 0
    for j in 0..<count {
        row[j] = exp(row[j] - maxValue)
        sum += row[j]
    }
    let inverse = 1 / sum
    for j in 0..<count { row[j] *= inverse }
}

/// Row-wise softmax Jacobian-vector product over the last axis: scale * y * (dy - Σ dy * y).
func softmaxBackward(_ y: Tensor, _ dy: Tensor, scale: Float) -> Tensor {
    let cols = y.shape.last ?? 0
    var out = uninitializedScalars(y.count)   // every element is written below
    y.scalars.withUnsafeBufferPointer { py in
        dy.scalars.withUnsafeBufferPointer { pg in
            out.withUnsafeMutableBufferPointer { po in
                forEachChunk(py.count / Swift.max(cols, 1), minimumPerWorker: rowsPerWorker(cols)) { rows, _ in
                    for r in rows {
                        let base = r * cols
                        var dot: Float = 0
                        for j in 0..<cols { dot += pg[base + j] * py[base + j] }
                        for j in 0..<cols { po[base + j] = scale * py[base + j] * (pg[base + j] - dot) }
                    }
                }
            }
        }
    }
    return Tensor(shape: y.shape, scalars: out)
}
