import Tensor
import Autograd

/// Projected keys and values of one attention layer, kept between decoding steps.
///
/// Self-attention appends the new positions' K, V at each step, so step t projects one position and
/// attends over t keys: O(t) instead of re-running the whole prefix, O(t^2). Cross-attention projects
/// the encoder memory once, on the first step, and reuses it. The tensors are values on the graph's
/// tape, so a cache belongs to the one `Graph` that made it.
public struct AttentionCache {
    /// [B, H, T, D] keys and values of every position seen so far (nil before the first step).
    public internal(set) var keys: Var?
    public internal(set) var values: Var?

    public init() {}

    /// Number of positions cached.
    public var length: Int { keys?.shape[2] ?? 0 }
}

/// Multi-head scaled dot-product attention (Vaswani et al. 2017, sec. 3.2.2):
/// MultiHead(Q, K, V) = Concat_h(softmax(Q_h K_h^T / sqrt(D)) V_h) W_O, with Q = x W_Q^T and
/// K, V = m W_K^T, m W_V^T from the memory m (m = x for self-attention).
///
/// Parameters `<name>.query|key|value|output.weight` (and `.bias` with `hasBias`). Key and value
/// depths are totals over heads and may differ from the model width, as in PAML (width 300, key and
/// value depth 40 over 4 heads, projections without bias); they must be equal to each other.
public struct MultiHeadAttention: Sendable {
    public let name: String
    /// Width of the queries' input and of the output.
    public let width: Int
    /// Width of the memory the keys and values are read from (= `width` for self-attention).
    public let memoryWidth: Int
    public let heads: Int
    public let keyDepth: Int
    public let valueDepth: Int
    public let hasBias: Bool
    /// Dropout on the attention weights (training only).
    public let dropout: Float

    public init(name: String, width: Int, heads: Int, keyDepth: Int? = nil, valueDepth: Int? = nil,
                memoryWidth: Int? = nil, hasBias: Bool = false, dropout: Float = 0) {
        self.name = name
        self.width = width
        self.memoryWidth = memoryWidth ?? width
        self.heads = heads
        self.keyDepth = keyDepth ?? width
        self.valueDepth = valueDepth ?? width
        self.hasBias = hasBias
        self.dropout = dropout
        precondition(self.keyDepth % heads == 0 && self.keyDepth == self.valueDepth,
                     "\(name): key depth \(self.keyDepth) and value depth \(self.valueDepth) must be equal and divide into \(heads) heads (the fused attention kernel shares D)")
    }

    public var query: Linear { Linear(name: "\(name).query", inputSize: width, outputSize: keyDepth, hasBias: hasBias) }
    public var key: Linear { Linear(name: "\(name).key", inputSize: memoryWidth, outputSize: keyDepth, hasBias: hasBias) }
    public var value: Linear { Linear(name: "\(name).value", inputSize: memoryWidth, outputSize: valueDepth, hasBias: hasBias) }
    public var output: Linear { Linear(name: "\(name).output", inputSize: valueDepth, outputSize: width, hasBias: hasBias) }

    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        for projection in [query, key, value, output] { projection.initialize(into: &parameters, using: &rng) }
    }

    /// Several projections of the same input as one product: their weights (and biases) joined along
    /// the output axis, then the result cut back into the parts. PAML's 40-wide projections run far
    /// below BLAS peak one by one; joined they make one 120-wide GEMM, and the backward pass computes
    /// one input gradient instead of adding three. For a few rows (a decoding step) joining the weights
    /// costs more than it saves, so those run separately.
    private func projections(_ g: Graph, _ x: Var, _ parts: [Linear]) -> [Var] {
        precondition(x.shape.last == parts[0].inputSize, "\(name): input \(x.shape), expected last dimension \(parts[0].inputSize)")
        if x.value.count / parts[0].inputSize < 256 { return parts.map { $0(g, x) } }
        let weight = concatenate(parts.map { g.param("\($0.name).weight") }, axis: 0)
        let bias = hasBias ? concatenate(parts.map { g.param("\($0.name).bias") }, axis: 0) : nil
        let joined = linear(x, weight: weight, bias: bias)
        var start = 0
        return parts.map { part in
            defer { start += part.outputSize }
            return slice(joined, axis: -1, range: start..<(start + part.outputSize))
        }
    }

    /// Attention without a cache. x [B, Tq, C]; memory [B, Tk, Cm] or nil for self-attention;
    /// keyPadding B*Tk flags (true = padded key, never attended); causal: query i sees keys <= i.
    /// -> [B, Tq, C].
    public func callAsFunction(_ g: Graph, _ x: Var, memory: Var? = nil, keyPadding: [Bool]? = nil,
                               causal: Bool = false) -> Var {
        var none: AttentionCache? = nil
        return self(g, x, memory: memory, keyPadding: keyPadding, causal: causal, cache: &none)
    }

    /// The one forward, optionally incremental. With a cache, self-attention appends x's keys and
    /// values to it and attends over all cached positions (x holds the newest Tq positions; with
    /// `causal` they are the last Tq of the Tk keys; `keyPadding` then covers all B*Tk keys);
    /// cross-attention projects `memory` on the first call and reuses it afterwards.
    public func callAsFunction(_ g: Graph, _ x: Var, memory: Var? = nil, keyPadding: [Bool]? = nil,
                               causal: Bool = false, cache: inout AttentionCache?) -> Var {
        precondition(x.rank == 3 && x.shape[2] == width, "\(name): query input \(x.shape), expected [B, T, \(width)]")
        let q: Var                                                          // [B, H, Tq, Dk]
        var k: Var, v: Var                                                  // [B, H, Tk, D]
        if let memory {
            precondition(memory.rank == 3 && memory.shape[0] == x.shape[0] && memory.shape[2] == memoryWidth,
                         "\(name): memory \(memory.shape), expected [\(x.shape[0]), S, \(memoryWidth)]")
            q = splitHeads(query(g, x), heads: heads)
            if let keys = cache?.keys, let values = cache?.values {
                (k, v) = (keys, values)
            } else {
                let kv = projections(g, memory, [key, value]).map { splitHeads($0, heads: heads) }
                (k, v) = (kv[0], kv[1])
                if cache != nil { (cache!.keys, cache!.values) = (k, v) }
            }
        } else {
            let qkv = projections(g, x, [query, key, value]).map { splitHeads($0, heads: heads) }
            (q, k, v) = (qkv[0], qkv[1], qkv[2])
            if cache != nil {
                if let keys = cache!.keys, let values = cache!.values {
                    k = concatenate([keys, k], axis: 2)                     // [B, H, t + Tq, Dk]
                    v = concatenate([values, v], axis: 2)                   // [B, H, t + Tq, Dv]
                }
                (cache!.keys, cache!.values) = (k, v)
            }
        }
        if let keyPadding {
            precondition(keyPadding.count == x.shape[0] * k.shape[2],
                         "\(name): \(keyPadding.count) key padding flags for \(x.shape[0]) x \(k.shape[2]) keys")
        }
        let attended = scaledDotProductAttention(
            query: q, key: k, value: v, mask: AttentionMask(keyPadding: keyPadding, causal: causal),
            dropout: dropout, graph: g)                                     // [B, H, Tq, Dv]
        return output(g, mergeHeads(attended))                              // [B, Tq, C]
    }
}
