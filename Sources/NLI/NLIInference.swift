import Dispatch
import Foundation
import Tensor
import Autograd
import Text

// Forward-only BERT for scoring (the NLI scorer's hot path): the same function as `BertEncoder` with
// trainable: false, without a tape, without padding and without head split/merge copies.
//
// Shapes: N packed tokens (all sequences of a chunk one after another), S sequences, C hidden width,
// H heads, D head depth, F intermediate width, K labels.
//
// Design notes
// - Packing: the sequences of a chunk are laid end to end, so every linear layer is one sgemm over
//   [N, C] with no padded rows; attention runs per (sequence, head) on the packed rows in place.
// - Q, K and V come from one sgemm with the three weights stacked ([3C, C]). Biases are written into the
//   output rows first and sgemm accumulates onto them (beta 1); GELU, and bias + residual + LayerNorm, are
//   single passes (the residual is the sgemm's accumulator: x += ctx Wo^T).
// - GELU uses a rational approximation of erf (|error| < 1e-6, tested against libm), so logits agree
//   with the Autograd path to ~1e-5; labels are the same.
// - Element-wise passes and attention are split over `workers` threads; OpenBLAS threads its sgemm.

/// The packed form of a chunk of encodings: tokens end to end, `offsets[s]..<offsets[s + 1]` per sequence.
public struct PackedSequences: Sendable {
    public let offsets: [Int]
    public let inputIDs: [Int]
    public let tokenTypeIDs: [Int]
    /// 1 real token, 0 a token hidden from attention and pooling (the tokenizer never makes these).
    public let attentionMask: [Int]

    public init(_ encodings: [BertEncoding]) {
        var offsets = [0]
        offsets.reserveCapacity(encodings.count + 1)
        var ids: [Int] = [], types: [Int] = [], mask: [Int] = []
        for e in encodings {
            ids += e.inputIDs
            types += e.tokenTypeIDs
            mask += e.attentionMask
            offsets.append(ids.count)
        }
        self.offsets = offsets
        inputIDs = ids
        tokenTypeIDs = types
        attentionMask = mask
    }

    public var sequenceCount: Int { offsets.count - 1 }
    public var tokenCount: Int { inputIDs.count }
}

/// BERT weights laid out for the forward-only path.
public struct BertInference: Sendable {
    public let config: BertConfig
    /// Threads for element-wise passes and attention.
    public var workers = 2

    struct Layer: Sendable {
        var qkv: [Float], qkvBias: [Float]              // [3C, C], [3C]
        var output: [Float], outputBias: [Float]        // [C, C], [C]
        var norm1Gamma: [Float], norm1Beta: [Float]     // [C]
        var up: [Float], upBias: [Float]                // [F, C], [F]
        var down: [Float], downBias: [Float]            // [C, F], [C]
        var norm2Gamma: [Float], norm2Beta: [Float]     // [C]
    }

    let word: [Float], position: [Float], type: [Float]        // [V, C], [P, C], [2, C]
    let embeddingGamma: [Float], embeddingBeta: [Float]        // [C]
    let layers: [Layer]

    /// Copies the weights of `encoder` out of `parameters` (all blocks must be present).
    public init(encoder: BertEncoder, parameters: Parameters) {
        config = encoder.config
        let p = encoder.prefix
        func w(_ name: String) -> [Float] { parameters.require(p + name).scalars }
        word = w("embeddings.word_embeddings.weight")
        position = w("embeddings.position_embeddings.weight")
        type = w("embeddings.token_type_embeddings.weight")
        embeddingGamma = w("embeddings.LayerNorm.weight")
        embeddingBeta = w("embeddings.LayerNorm.bias")
        layers = (0..<encoder.config.layers).map { l in
            let b = "encoder.layer.\(l)."
            return Layer(
                qkv: w(b + "attention.self.query.weight") + w(b + "attention.self.key.weight") + w(b + "attention.self.value.weight"),
                qkvBias: w(b + "attention.self.query.bias") + w(b + "attention.self.key.bias") + w(b + "attention.self.value.bias"),
                output: w(b + "attention.output.dense.weight"), outputBias: w(b + "attention.output.dense.bias"),
                norm1Gamma: w(b + "attention.output.LayerNorm.weight"), norm1Beta: w(b + "attention.output.LayerNorm.bias"),
                up: w(b + "intermediate.dense.weight"), upBias: w(b + "intermediate.dense.bias"),
                down: w(b + "output.dense.weight"), downBias: w(b + "output.dense.bias"),
                norm2Gamma: w(b + "output.LayerNorm.weight"), norm2Beta: w(b + "output.LayerNorm.bias"))
        }
    }

    /// LN(word + position + segment embeddings) of every packed token: [N, C].
    public func embed(_ packed: PackedSequences) -> [Float] {
        let c = config.hiddenSize, n = packed.tokenCount
        var x = [Float](unsafeUninitializedCapacity: n * c) { _, count in count = n * c }
        x.withUnsafeMutableBufferPointer { out in
            word.withUnsafeBufferPointer { wp in position.withUnsafeBufferPointer { pp in type.withUnsafeBufferPointer { tp in
                for s in 0..<packed.sequenceCount {
                    let start = packed.offsets[s]
                    precondition(packed.offsets[s + 1] - start <= config.maxPositions,
                                 "sequence length \(packed.offsets[s + 1] - start) exceeds \(config.maxPositions) positions")
                    for i in start..<packed.offsets[s + 1] {
                        let (wi, ti, pi) = (packed.inputIDs[i] * c, packed.tokenTypeIDs[i] * c, (i - start) * c)
                        for j in 0..<c { out[i * c + j] = wp[wi + j] + pp[pi + j] + tp[ti + j] }
                    }
                }
            } } }
            embeddingGamma.withUnsafeBufferPointer { g in embeddingBeta.withUnsafeBufferPointer { b in
                parallelRows(n) { rows in
                    for r in rows {
                        layerNormRow(out.baseAddress! + r * c, into: out.baseAddress! + r * c, gamma: g.baseAddress!, beta: b.baseAddress!,
                                     channels: c, epsilon: config.layerNormEpsilon)
                    }
                }
            } }
        }
        return x
    }

    /// Runs blocks `range` on packed hidden states x [N, C] in place.
    public func encode(_ x: inout [Float], _ packed: PackedSequences, layers range: Range<Int>) {
        let (n, c, f) = (packed.tokenCount, config.hiddenSize, config.intermediateSize)
        precondition(x.count == n * c, "encode: \(x.count) floats for \(n) tokens of width \(c)")
        guard n > 0 else { return }
        var qkv = [Float](repeating: 0, count: n * 3 * c)            // [N, 3C]
        var context = [Float](repeating: 0, count: n * c)            // [N, C]
        var hidden = [Float](repeating: 0, count: n * f)             // [N, F]
        for l in range {
            let layer = layers[l]
            x.withUnsafeMutableBufferPointer { xp in
                let xb = xp.baseAddress!
                qkv.withUnsafeMutableBufferPointer { q in
                    linear(xb, layer.qkv, layer.qkvBias, into: q.baseAddress!, rows: n, inputs: c, outputs: 3 * c)  // [N, 3C]
                    context.withUnsafeMutableBufferPointer { ctx in attention(q.baseAddress!, into: ctx.baseAddress!, packed) }
                }
                // x = LN(x + ctx Wo^T + bo)
                context.withUnsafeBufferPointer { ctx in layer.output.withUnsafeBufferPointer { w in
                    sgemm(ctx.baseAddress!, transposeA: false, w.baseAddress!, transposeB: true, xb, m: n, n: c, k: c, beta: 1)
                } }
                addBiasNormalize(xb, bias: layer.outputBias, gamma: layer.norm1Gamma, beta: layer.norm1Beta, rows: n)
                // hidden = gelu(x W1^T + b1)                                            [N, F]
                hidden.withUnsafeMutableBufferPointer { h in
                    let hb = h.baseAddress!
                    linear(xb, layer.up, layer.upBias, into: hb, rows: n, inputs: c, outputs: f)   // [N, F]
                    parallelRows(n) { rows in
                        for r in rows { gelu(hb + r * f, width: f) }
                    }
                    // x = LN(x + hidden W2^T + b2)
                    layer.down.withUnsafeBufferPointer { w in
                        sgemm(hb, transposeA: false, w.baseAddress!, transposeB: true, xb, m: n, n: c, k: f, beta: 1)
                    }
                }
                addBiasNormalize(xb, bias: layer.downBias, gamma: layer.norm2Gamma, beta: layer.norm2Beta, rows: n)
            }
        }
    }

    /// Mean over each sequence's real tokens: [S, C] (a sequence without real tokens pools to zero).
    public func meanPool(_ x: [Float], _ packed: PackedSequences) -> [Float] {
        let c = config.hiddenSize
        var out = [Float](repeating: 0, count: packed.sequenceCount * c)
        x.withUnsafeBufferPointer { xp in
            for s in 0..<packed.sequenceCount {
                let real = (packed.offsets[s]..<packed.offsets[s + 1]).filter { packed.attentionMask[$0] != 0 }
                guard !real.isEmpty else { continue }
                let scale = 1 / Float(real.count)
                for i in real { for j in 0..<c { out[s * c + j] += scale * xp[i * c + j] } }
            }
        }
        return out
    }

    // MARK: kernels

    /// out [rows, outputs] = x [rows, inputs] W^T + b (W [outputs, inputs]): rows start as b, then one
    /// sgemm accumulates (beta 1, so BLAS makes no zeroing pass and there is no separate bias pass).
    private func linear(_ x: UnsafePointer<Float>, _ weight: [Float], _ bias: [Float], into out: UnsafeMutablePointer<Float>,
                        rows: Int, inputs: Int, outputs: Int) {
        bias.withUnsafeBufferPointer { b in
            parallelRows(rows) { range in
                for r in range { (out + r * outputs).update(from: b.baseAddress!, count: outputs) }
            }
        }
        weight.withUnsafeBufferPointer { w in
            sgemm(x, transposeA: false, w.baseAddress!, transposeB: true, out, m: rows, n: outputs, k: inputs, beta: 1)
        }
    }

    /// x = LN(x + bias) row by row (x already holds the residual sum without the bias).
    private func addBiasNormalize(_ x: UnsafeMutablePointer<Float>, bias: [Float], gamma: [Float], beta: [Float], rows: Int) {
        let c = config.hiddenSize
        bias.withUnsafeBufferPointer { b in gamma.withUnsafeBufferPointer { g in beta.withUnsafeBufferPointer { be in
            parallelRows(rows) { range in
                for r in range {
                    let row = x + r * c
                    for j in 0..<c { row[j] += b[j] }
                    layerNormRow(row, into: row, gamma: g.baseAddress!, beta: be.baseAddress!, channels: c, epsilon: config.layerNormEpsilon)
                }
            }
        } } }
    }

    /// Softmax(Q K^T / sqrt(D)) V per (sequence, head) from packed qkv [N, 3C] into context [N, C]
    /// (heads side by side, as mergeHeads lays them out). Masked keys get weight 0. The head's keys are
    /// first copied transposed ([D, T] padded to 8 lanes) so a query's scores are 8 keys per SIMD lane set.
    private func attention(_ qkv: UnsafePointer<Float>, into context: UnsafeMutablePointer<Float>, _ packed: PackedSequences) {
        let (c, heads) = (config.hiddenSize, config.heads)
        let d = c / heads, stride = 3 * c
        let scale = 1 / Float(d).squareRoot()
        let longest = (0..<packed.sequenceCount).map { packed.offsets[$0 + 1] - packed.offsets[$0] }.max() ?? 0
        let lanes = (longest + 7) / 8 * 8
        packed.attentionMask.withUnsafeBufferPointer { maskBuffer in
            let mask = maskBuffer.baseAddress!
            let hasMask = maskBuffer.contains(0)
            parallelRows(packed.sequenceCount) { sequences in
                var scratch = [Float](repeating: 0, count: d * lanes + 4 * lanes)
                scratch.withUnsafeMutableBufferPointer { sp in
                    let keys = sp.baseAddress!, scores = keys + d * lanes                // [D, lanes], [4, lanes]
                    for s in sequences {
                        let start = packed.offsets[s], t = packed.offsets[s + 1] - start
                        let tl = (t + 7) / 8 * 8
                        for h in 0..<heads {
                            let k = qkv + start * stride + c + h * d
                            for j in 0..<t { for e in 0..<d { keys[e &* tl &+ j] = k[j &* stride &+ e] } }
                            for e in 0..<d { for j in t..<tl { keys[e &* tl &+ j] = 0 } }
                            // Scores of 4 queries at a time (4 independent FMA chains), rows of `scores` [4, lanes].
                            for first in Swift.stride(from: 0, to: t, by: 4) {
                                let q0 = qkv + (start + first) * stride + h * d
                                let qs = (0..<4).map { q0 + Swift.min($0, t - 1 - first) * stride }
                                var block = 0
                                while block < tl {
                                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                                    for e in 0..<d {
                                        let kv = UnsafeRawPointer(keys + (e &* tl &+ block)).loadUnaligned(as: SIMD8<Float>.self)
                                        a0.addProduct(SIMD8(repeating: qs[0][e]), kv)
                                        a1.addProduct(SIMD8(repeating: qs[1][e]), kv)
                                        a2.addProduct(SIMD8(repeating: qs[2][e]), kv)
                                        a3.addProduct(SIMD8(repeating: qs[3][e]), kv)
                                    }
                                    for (r, acc) in [a0, a1, a2, a3].enumerated() {
                                        UnsafeMutableRawPointer(scores + (r &* lanes &+ block)).storeBytes(of: acc * scale, as: SIMD8<Float>.self)
                                    }
                                    block += 8
                                }
                                for i in first..<Swift.min(first + 4, t) {
                                let p = scores + (i - first) * lanes
                                if hasMask { for j in 0..<t where mask[start + j] == 0 { p[j] = -.infinity } }
                                var largest = -Float.infinity
                                for j in 0..<t { largest = max(largest, p[j]) }
                                var total: Float = 0
                                for j in 0..<t {
                                    let e = largest == -.infinity ? 0 : expf(p[j] - largest)
                                    p[j] = e
                                    total += e
                                }
                                let inverse = total > 0 ? 1 / total : 0
                                weightedSum(p, values: qkv + start * stride + 2 * c + h * d, stride: stride, count: t,
                                            scale: inverse, into: context + (start + i) * c + h * d, depth: d)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Splits rows 0..<count into `workers` contiguous ranges run concurrently.
    private func parallelRows(_ count: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(max(workers, 1), count)
        guard parts > 1 else { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            body((count * part / parts)..<(count * (part + 1) / parts))
        }
    }
}

/// out[0..<depth] = scale * Σ_j w_j v_j, rows v_j at values + j * stride (32 lanes = 4 FMA chains at a time).
@inline(__always)
func weightedSum(_ w: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int, scale: Float,
                 into out: UnsafeMutablePointer<Float>, depth: Int) {
    var i = 0
    while i + 32 <= depth {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for j in 0..<count {
            let wj = SIMD8<Float>(repeating: w[j]), row = UnsafeRawPointer(values + (j &* stride &+ i))
            a0.addProduct(wj, row.loadUnaligned(as: SIMD8<Float>.self))
            a1.addProduct(wj, row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            a2.addProduct(wj, row.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            a3.addProduct(wj, row.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
        }
        let o = UnsafeMutableRawPointer(out + i)
        o.storeBytes(of: a0 * scale, as: SIMD8<Float>.self)
        o.storeBytes(of: a1 * scale, toByteOffset: 32, as: SIMD8<Float>.self)
        o.storeBytes(of: a2 * scale, toByteOffset: 64, as: SIMD8<Float>.self)
        o.storeBytes(of: a3 * scale, toByteOffset: 96, as: SIMD8<Float>.self)
        i += 32
    }
    while i + 8 <= depth {
        var acc = SIMD8<Float>()
        for j in 0..<count {
            acc.addProduct(SIMD8(repeating: w[j]), UnsafeRawPointer(values + j * stride + i).loadUnaligned(as: SIMD8<Float>.self))
        }
        UnsafeMutableRawPointer(out + i).storeBytes(of: acc * scale, as: SIMD8<Float>.self)
        i += 8
    }
    while i < depth {
        var acc: Float = 0
        for j in 0..<count { acc += w[j] * values[j * stride + i] }
        out[i] = acc * scale
        i += 1
    }
}

/// row = gelu(row) in place, gelu(x) = 0.5 x (1 + erf(x / √2)), 8 lanes at a time.
@inline(__always)
func gelu(_ row: UnsafeMutablePointer<Float>, width: Int) {
    let invSqrt2 = SIMD8<Float>(repeating: 0.70710678118654752)
    var j = 0
    while j + 8 <= width {
        let x = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
        let y = 0.5 * x * (1 + fastErf(x * invSqrt2))
        UnsafeMutableRawPointer(row + j).storeBytes(of: y, as: SIMD8<Float>.self)
        j += 8
    }
    while j < width {
        let x = row[j]
        row[j] = 0.5 * x * (1 + fastErf(SIMD8(repeating: x * 0.70710678118654752))[0])
        j += 1
    }
}

/// erf(x) as x P(x²) / Q(x²) on x clamped to [-4, 4] (the rational approximation of Eigen / XLA;
/// |error| < 1e-6 against libm's erf, checked in the tests).
@inline(__always)
public func fastErf(_ input: SIMD8<Float>) -> SIMD8<Float> {
    var x = input
    x.replace(with: 4, where: x .> 4)
    x.replace(with: -4, where: x .< -4)
    let x2 = x * x
    var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
    p = x2 * p + -2.10102402082508e-06
    p = x2 * p + -5.69250639462346e-05
    p = x2 * p + -7.34990630326855e-04
    p = x2 * p + -2.95459980854025e-03
    p = x2 * p + -1.60960333262415e-02
    p = x * p
    var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04
    q = x2 * q + -1.68282697438203e-03
    q = x2 * q + -7.37332916720468e-03
    q = x2 * q + -1.42647390514189e-02
    return p / q
}
