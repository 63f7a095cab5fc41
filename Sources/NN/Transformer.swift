import Foundation
import Tensor
import Autograd

// Pre-norm Transformer blocks and stacks (Vaswani et al. 2017, with the layer norm moved in front of
// each sub-layer as in tensor2tensor and PAML's release). The residual stream is visible in each
// forward: x = x + drop(sublayer(LN(x))).

/// Sizes and dropout rates of a Transformer stack; saved in model configs and checkpoints.
public struct TransformerConfig: Codable, Equatable, Sendable {
    public var layers: Int
    /// Model width C (the residual stream).
    public var width: Int
    public var heads: Int
    /// Total key and value depths over all heads.
    public var keyDepth: Int
    public var valueDepth: Int
    /// Feed-forward hidden width F.
    public var filterSize: Int
    /// Dropout on the (projected, position-encoded) input.
    public var inputDropout: Float
    /// Dropout on each sub-layer's output before the residual add.
    public var layerDropout: Float
    public var attentionDropout: Float
    /// Dropout inside the feed-forward block.
    public var reluDropout: Float

    /// Defaults are PAML's sizes (6 layers, width 300, 4 heads, key/value depth 40, filter 50) with no
    /// dropout; set the rates for regularised training.
    public init(layers: Int = 6, width: Int = 300, heads: Int = 4, keyDepth: Int = 40, valueDepth: Int = 40,
                filterSize: Int = 50, inputDropout: Float = 0, layerDropout: Float = 0,
                attentionDropout: Float = 0, reluDropout: Float = 0) {
        self.layers = layers
        self.width = width
        self.heads = heads
        self.keyDepth = keyDepth
        self.valueDepth = valueDepth
        self.filterSize = filterSize
        self.inputDropout = inputDropout
        self.layerDropout = layerDropout
        self.attentionDropout = attentionDropout
        self.reluDropout = reluDropout
    }
}

extension TransformerConfig: ValidatedConfig {
    /// Sizes are bounded above too, so that a typo ("--width 3000000") is an error rather than an
    /// allocation that exhausts memory.
    public func validate() throws {
        try Check.within(layers, 1...48, "transformer.layers")
        try Check.within(width, 1...8192, "transformer.width")
        try Check.within(heads, 1...64, "transformer.heads")
        try Check.within(keyDepth, 1...8192, "transformer.keyDepth")
        try Check.within(valueDepth, 1...8192, "transformer.valueDepth")
        guard keyDepth % heads == 0 else {
            throw ConfigError(field: "transformer.keyDepth", value: "\(keyDepth)", allowed: "a multiple of transformer.heads (\(heads))")
        }
        guard valueDepth % heads == 0 else {
            throw ConfigError(field: "transformer.valueDepth", value: "\(valueDepth)", allowed: "a multiple of transformer.heads (\(heads))")
        }
        try Check.within(filterSize, 1...65536, "transformer.filterSize")
        try Check.dropout(inputDropout, "transformer.inputDropout")
        try Check.dropout(layerDropout, "transformer.layerDropout")
        try Check.dropout(attentionDropout, "transformer.attentionDropout")
        try Check.dropout(reluDropout, "transformer.reluDropout")
    }
}

/// The sinusoidal timing signal of tensor2tensor (`get_timing_signal_1d`), as PAML uses:
/// with n = C/2 timescales, inv_i = exp(-i ln(10^4) / (n - 1)),
/// signal[t] = [sin(t inv_0..n-1), cos(t inv_0..n-1)] (halves, not interleaved), a zero column if C is odd.
/// Rows are positions `start ..< start + count` -> [T, C].
public func sinusoidalPositions(count: Int, width: Int, start: Int = 0) -> Tensor {
    let timescales = width / 2
    let increment = log(1.0e4) / Double(max(timescales - 1, 1))
    var out = Tensor(zeros: [count, width])
    out.scalars.withUnsafeMutableBufferPointer { p in
        for t in 0..<count {
            for i in 0..<timescales {
                let angle = Double(start + t) * exp(-Double(i) * increment)
                p[t * width + i] = Float(sin(angle))
                p[t * width + timescales + i] = Float(cos(angle))
            }
        }
    }
    return out
}

/// x [B, T, C] + signal [T, C] for positions start ..< start + T.
func addingPositions(_ g: Graph, _ x: Var, start: Int) -> Var {
    let (batch, time, width) = (x.shape[0], x.shape[1], x.shape[2])
    let signal = sinusoidalPositions(count: time, width: width, start: start)       // [T, C]
    let tiled = Tensor(shape: [batch, time, width],
                       scalars: Array([[Float]](repeating: signal.scalars, count: batch).joined()))  // [B, T, C]
    return x + g.constant(tiled)
}

/// One encoder block: x = x + drop(attn(LN(x))); x = x + drop(ffn(LN(x))).
public struct TransformerEncoderLayer: Sendable {
    public let name: String
    public let config: TransformerConfig

    public init(name: String, config: TransformerConfig) {
        self.name = name
        self.config = config
    }

    public var attentionNorm: LayerNorm { LayerNorm(name: "\(name).attentionNorm", width: config.width) }
    public var attention: MultiHeadAttention {
        MultiHeadAttention(name: "\(name).attention", width: config.width, heads: config.heads,
                           keyDepth: config.keyDepth, valueDepth: config.valueDepth, dropout: config.attentionDropout)
    }
    public var feedForwardNorm: LayerNorm { LayerNorm(name: "\(name).feedForwardNorm", width: config.width) }
    public var feedForward: FeedForward {
        FeedForward(name: "\(name).feedForward", width: config.width, filterSize: config.filterSize,
                    dropout: config.reluDropout)
    }

    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        attentionNorm.initialize(into: &parameters)
        attention.initialize(into: &parameters, using: &rng)
        feedForwardNorm.initialize(into: &parameters)
        feedForward.initialize(into: &parameters, using: &rng)
    }

    /// x [B, T, C], padding B*T flags (true = padded) -> [B, T, C].
    public func callAsFunction(_ g: Graph, _ x: Var, padding: [Bool]?) -> Var {
        let rate = config.layerDropout
        var x = x
        x = x + g.dropout(attention(g, attentionNorm(g, x), keyPadding: padding), rate: rate)
        x = x + g.dropout(feedForward(g, feedForwardNorm(g, x)), rate: rate)
        return x
    }
}

/// One decoder block: causal self-attention, attention over the encoder memory, feed-forward,
/// each pre-normed with a residual add.
public struct TransformerDecoderLayer: Sendable {
    public let name: String
    public let config: TransformerConfig

    public init(name: String, config: TransformerConfig) {
        self.name = name
        self.config = config
    }

    public var selfAttentionNorm: LayerNorm { LayerNorm(name: "\(name).selfAttentionNorm", width: config.width) }
    public var selfAttention: MultiHeadAttention {
        MultiHeadAttention(name: "\(name).selfAttention", width: config.width, heads: config.heads,
                           keyDepth: config.keyDepth, valueDepth: config.valueDepth, dropout: config.attentionDropout)
    }
    public var crossAttentionNorm: LayerNorm { LayerNorm(name: "\(name).crossAttentionNorm", width: config.width) }
    public var crossAttention: MultiHeadAttention {
        MultiHeadAttention(name: "\(name).crossAttention", width: config.width, heads: config.heads,
                           keyDepth: config.keyDepth, valueDepth: config.valueDepth, dropout: config.attentionDropout)
    }
    public var feedForwardNorm: LayerNorm { LayerNorm(name: "\(name).feedForwardNorm", width: config.width) }
    public var feedForward: FeedForward {
        FeedForward(name: "\(name).feedForward", width: config.width, filterSize: config.filterSize,
                    dropout: config.reluDropout)
    }

    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        selfAttentionNorm.initialize(into: &parameters)
        selfAttention.initialize(into: &parameters, using: &rng)
        crossAttentionNorm.initialize(into: &parameters)
        crossAttention.initialize(into: &parameters, using: &rng)
        feedForwardNorm.initialize(into: &parameters)
        feedForward.initialize(into: &parameters, using: &rng)
    }

    /// x [B, T, C] (the newest T positions when cached), memory [B, S, C], sourcePadding B*S flags.
    /// Right-padded targets need no padding mask: under the causal mask no real position sees a
    /// later pad, and the loss ignores the pads' own outputs.
    public func callAsFunction(_ g: Graph, _ x: Var, memory: Var, sourcePadding: [Bool]?,
                               cache: inout DecoderLayerCache?) -> Var {
        let rate = config.layerDropout
        var selfCache = cache.map { $0.selfAttention }
        var crossCache = cache.map { $0.crossAttention }
        var x = x
        x = x + g.dropout(selfAttention(g, selfAttentionNorm(g, x), causal: true, cache: &selfCache), rate: rate)
        x = x + g.dropout(crossAttention(g, crossAttentionNorm(g, x), memory: memory, keyPadding: sourcePadding,
                                         cache: &crossCache), rate: rate)
        x = x + g.dropout(feedForward(g, feedForwardNorm(g, x)), rate: rate)
        if cache != nil { cache = DecoderLayerCache(selfAttention: selfCache!, crossAttention: crossCache!) }
        return x
    }
}

/// A decoder layer's caches: its own past keys/values and the projected encoder memory.
public struct DecoderLayerCache {
    public var selfAttention = AttentionCache()
    public var crossAttention = AttentionCache()
    public init() {}
    public init(selfAttention: AttentionCache, crossAttention: AttentionCache) {
        self.selfAttention = selfAttention
        self.crossAttention = crossAttention
    }
}

/// Everything incremental decoding keeps between steps: one `DecoderLayerCache` per layer.
/// Start with `KeyValueCache(layers:)`, then feed the decoder one (or a few) new positions per call.
public struct KeyValueCache {
    public var layers: [DecoderLayerCache]

    public init(layers: Int) {
        self.layers = Array(repeating: DecoderLayerCache(), count: layers)
    }

    /// Number of target positions already decoded (the position of the next one).
    public var length: Int { layers.first?.selfAttention.length ?? 0 }
}

/// A Transformer layer as the stacks build it: named by its path, drawn at initialisation.
public protocol TransformerLayer: Sendable {
    init(name: String, config: TransformerConfig)
    func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator)
}

extension TransformerEncoderLayer: TransformerLayer {}
extension TransformerDecoderLayer: TransformerLayer {}

/// What the encoder and decoder stacks share: an optional bias-free projection from the embedding width E
/// to the model width C (PAML's `embedding_proj`, `<name>.inputProjection`, present when E != C), N layers
/// of one kind, a final LayerNorm, and one initialisation order (projection, layers, norm).
public protocol TransformerStack: Sendable {
    associatedtype Layer: TransformerLayer
    var name: String { get }
    var config: TransformerConfig { get }
    /// Width E of the incoming embeddings.
    var inputWidth: Int { get }
}

extension TransformerStack {
    public var inputProjection: Linear? {
        inputWidth == config.width ? nil
            : Linear(name: "\(name).inputProjection", inputSize: inputWidth, outputSize: config.width, hasBias: false)
    }
    public var layers: [Layer] {
        (0..<config.layers).map { Layer(name: "\(name).layers.\($0)", config: config) }
    }
    public var finalNorm: LayerNorm { LayerNorm(name: "\(name).norm", width: config.width) }

    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        inputProjection?.initialize(into: &parameters, using: &rng)
        for layer in layers { layer.initialize(into: &parameters, using: &rng) }
        finalNorm.initialize(into: &parameters)
    }

    /// Input dropout, the optional projection E -> C, then the timing signal for positions start ..< start + T.
    func preparedInput(_ g: Graph, _ x: Var, start: Int) -> Var {
        var h = g.dropout(x, rate: config.inputDropout)     // [B, T, E]
        if let inputProjection { h = inputProjection(g, h) } // [B, T, C]
        return addingPositions(g, h, start: start)           // [B, T, C]
    }
}

/// Encoder stack: input -> (+ positions) -> N encoder layers -> final LayerNorm.
public struct TransformerEncoder: TransformerStack {
    public typealias Layer = TransformerEncoderLayer
    public let name: String
    public let config: TransformerConfig
    public let inputWidth: Int

    public init(name: String, config: TransformerConfig, inputWidth: Int? = nil) {
        self.name = name
        self.config = config
        self.inputWidth = inputWidth ?? config.width
    }

    /// x [B, S, E] embeddings, padding B*S flags (true = padded) -> memory [B, S, C].
    public func callAsFunction(_ g: Graph, _ x: Var, padding: [Bool]?) -> Var {
        precondition(x.rank == 3 && x.shape[2] == inputWidth, "\(name): input \(x.shape), expected [B, S, \(inputWidth)]")
        var h = preparedInput(g, x, start: 0)
        for layer in layers { h = layer(g, h, padding: padding) }
        return finalNorm(g, h)
    }
}

/// Decoder stack: input -> (+ positions) -> N decoder layers -> final LayerNorm. The caller projects
/// to the vocabulary (e.g. with the tied `Embedding.logits`).
public struct TransformerDecoder: TransformerStack {
    public typealias Layer = TransformerDecoderLayer
    public let name: String
    public let config: TransformerConfig
    public let inputWidth: Int

    public init(name: String, config: TransformerConfig, inputWidth: Int? = nil) {
        self.name = name
        self.config = config
        self.inputWidth = inputWidth ?? config.width
    }

    /// Training (teacher forcing): x [B, T, E] target-side embeddings, memory [B, S, C] -> [B, T, C].
    public func callAsFunction(_ g: Graph, _ x: Var, memory: Var, sourcePadding: [Bool]?) -> Var {
        var none: KeyValueCache? = nil
        return self(g, x, memory: memory, sourcePadding: sourcePadding, cache: &none)
    }

    /// The one forward. With a cache, x holds only the new positions (usually one), which get
    /// positions cache.length ..< cache.length + T; the cache grows by T.
    public func callAsFunction(_ g: Graph, _ x: Var, memory: Var, sourcePadding: [Bool]?,
                               cache: inout KeyValueCache?) -> Var {
        precondition(x.rank == 3 && x.shape[2] == inputWidth, "\(name): input \(x.shape), expected [B, T, \(inputWidth)]")
        if let cache {
            precondition(cache.layers.count == config.layers,
                         "\(name): cache for \(cache.layers.count) layers, decoder has \(config.layers)")
        }
        var h = preparedInput(g, x, start: cache?.length ?? 0)
        for (i, layer) in layers.enumerated() {
            var layerCache = cache?.layers[i]
            h = layer(g, h, memory: memory, sourcePadding: sourcePadding, cache: &layerCache)
            if let layerCache { cache!.layers[i] = layerCache }
        }
        return finalNorm(g, h)
    }
}
