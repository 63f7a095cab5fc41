import Foundation
import Tensor
import Autograd
import NN

// TransGate, the conversation-state encoder of MetaCRS (Chu et al. 2023), and its ablation.
// Shapes: Na attribute tokens, Ni item tokens (each with one learned [CLS] token first), D the FM
// embedding width, C the encoder width.
//
// TransGate, as built here (our reading of the paper's description):
//   attribute tokens  x_a = P_A(sign_a * e_a)      sign +1 accepted, -1 rejected       [Na, C]
//   item tokens       x_v = P_I(-e_v)              rejected items (the latest `itemTokens`) [Ni, C]
//   A = Transformer_A([cls_A; x_a]),  I = Transformer_I([cls_I; x_v])   (no positions: sets)
//   a = A[0], i = I[0]                                                   (the [CLS] outputs, [1, C])
//   cross gates:      g_a = σ(G_a i + b_a),  g_i = σ(G_i a + b_i)         (each set gated by the other)
//   z = tanh(P_out [g_a ⊙ a ; g_i ⊙ i ; f])                              [1, C]
// where f holds two scalars, turn / T and log(1 + |candidates|) / log(1 + |items|).
// The ablation ("no TransGate") replaces both Transformers and the gates by mean pooling of the tokens.

/// Sizes of the MetaCRS networks; saved inside every checkpoint.
public struct CRSModelConfig: Codable, Equatable, Sendable {
    /// FM embedding width D (fixed by the FM checkpoint).
    public var embedding = 64
    /// Encoder width C.
    public var width = 32
    /// GRU hidden width H.
    public var hidden = 64
    public var heads = 2
    /// Use TransGate; false = mean-pooling ablation.
    public var transGate = true
    /// Rejected items entering the encoder (the most recent ones).
    public var itemTokens = 10
    /// K_A attribute actions and K_I item actions; K_rec items per recommendation.
    public var attributeActions = 10
    public var itemActions = 10
    public var listSize = 10
    /// Cross-session memory features that are ours, not the paper's (each can be switched off; all three
    /// off is the paper's network): m, the mean accepted-item embedding in the state; β, the repeat-item
    /// bonus of the recommender; the accepted item's embedding as a GRU input in the next episode.
    public var meanAccepted = true
    public var repeatBonus = true
    public var revealInput = true

    public init() {}

    /// The paper's network: none of our memory features (the GRU state still carries across episodes,
    /// as in the paper).
    public var paperForm: CRSModelConfig {
        var c = self
        c.meanAccepted = false
        c.repeatBonus = false
        c.revealInput = false
        return c
    }

    /// Checkpoints written before the memory switches existed had all three on.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedding = try c.decode(Int.self, forKey: .embedding)
        width = try c.decode(Int.self, forKey: .width)
        hidden = try c.decode(Int.self, forKey: .hidden)
        heads = try c.decode(Int.self, forKey: .heads)
        transGate = try c.decode(Bool.self, forKey: .transGate)
        itemTokens = try c.decode(Int.self, forKey: .itemTokens)
        attributeActions = try c.decode(Int.self, forKey: .attributeActions)
        itemActions = try c.decode(Int.self, forKey: .itemActions)
        listSize = try c.decode(Int.self, forKey: .listSize)
        meanAccepted = try c.decodeIfPresent(Bool.self, forKey: .meanAccepted) ?? true
        repeatBonus = try c.decodeIfPresent(Bool.self, forKey: .repeatBonus) ?? true
        revealInput = try c.decodeIfPresent(Bool.self, forKey: .revealInput) ?? true
    }

    /// Width of the GRU input: z [C], plus the revealed-item embedding [D] when `revealInput`.
    public var gruInput: Int { width + (revealInput ? embedding : 0) }
    /// Width of the state s = [z; h] or [z; h; m] the recommender and the action head read.
    public var stateWidth: Int { width + hidden + (meanAccepted ? embedding : 0) }
}

/// The TransGate encoder (or its mean-pooling ablation), parameters named `<name>.*`.
public struct TransGate: Sendable {
    public let name: String
    public let config: CRSModelConfig

    public init(name: String = "encoder", config: CRSModelConfig) {
        self.name = name
        self.config = config
    }

    var blockConfig: TransformerConfig {
        TransformerConfig(layers: 1, width: config.width, heads: config.heads, keyDepth: config.width,
                          valueDepth: config.width, filterSize: 2 * config.width, inputDropout: 0,
                          layerDropout: 0, attentionDropout: 0, reluDropout: 0)
    }
    var attributeProjection: Linear { Linear(name: "\(name).attributeProjection", inputSize: config.embedding, outputSize: config.width) }
    var itemProjection: Linear { Linear(name: "\(name).itemProjection", inputSize: config.embedding, outputSize: config.width) }
    var attributeBlock: TransformerEncoderLayer { TransformerEncoderLayer(name: "\(name).attributeBlock", config: blockConfig) }
    var itemBlock: TransformerEncoderLayer { TransformerEncoderLayer(name: "\(name).itemBlock", config: blockConfig) }
    var attributeNorm: LayerNorm { LayerNorm(name: "\(name).attributeNorm", width: config.width) }
    var itemNorm: LayerNorm { LayerNorm(name: "\(name).itemNorm", width: config.width) }
    var attributeGate: Linear { Linear(name: "\(name).attributeGate", inputSize: config.width, outputSize: config.width) }
    var itemGate: Linear { Linear(name: "\(name).itemGate", inputSize: config.width, outputSize: config.width) }
    var output: Linear { Linear(name: "\(name).output", inputSize: 2 * config.width + 2, outputSize: config.width) }

    public func initialize(into p: inout Parameters, using rng: inout SeededGenerator) {
        attributeProjection.initialize(into: &p, using: &rng)
        itemProjection.initialize(into: &p, using: &rng)
        p["\(name).attributeCLS"] = Tensor.randomNormal([1, config.width], std: 0.1, using: &rng)
        p["\(name).itemCLS"] = Tensor.randomNormal([1, config.width], std: 0.1, using: &rng)
        if config.transGate {
            attributeBlock.initialize(into: &p, using: &rng)
            itemBlock.initialize(into: &p, using: &rng)
            attributeNorm.initialize(into: &p)
            itemNorm.initialize(into: &p)
            attributeGate.initialize(into: &p, using: &rng)
            itemGate.initialize(into: &p, using: &rng)
        }
        output.initialize(into: &p, using: &rng)
    }

    /// Encodes signed token embeddings. attributes [Na, D] (already signed), items [Ni, D] (already
    /// signed; Na or Ni may be 0), features [1, 2] -> z [1, C].
    public func callAsFunction(_ g: Graph, attributes: Var?, items: Var?, features: Var) -> Var {
        let a = pooled(g, tokens: attributes, projection: attributeProjection, cls: "\(name).attributeCLS",
                       block: attributeBlock, norm: attributeNorm)           // [1, C]
        let i = pooled(g, tokens: items, projection: itemProjection, cls: "\(name).itemCLS",
                       block: itemBlock, norm: itemNorm)                     // [1, C]
        var parts: [Var]
        if config.transGate {
            let gateA = sigmoid(attributeGate(g, i))                          // [1, C]
            let gateI = sigmoid(itemGate(g, a))                               // [1, C]
            parts = [gateA * a, gateI * i]
        } else {
            parts = [a, i]
        }
        parts.append(features)
        return tanh(output(g, concatenate(parts, axis: 1)))                   // [1, C]
    }

    /// [CLS; P(tokens)] through the Transformer block (TransGate) and read at [CLS], or mean-pooled
    /// (ablation). -> [1, C]
    private func pooled(_ g: Graph, tokens: Var?, projection: Linear, cls: String,
                        block: TransformerEncoderLayer, norm: LayerNorm) -> Var {
        var x = g.param(cls)                                                   // [1, C]
        if let tokens, tokens.shape[0] > 0 {
            x = concatenate([x, projection(g, tokens)], axis: 0)               // [1 + N, C]
        }
        let n = x.shape[0]
        if config.transGate {
            let h = norm(g, block(g, x.reshaped([1, n, config.width]), padding: nil))        // [1, 1 + N, C]
            return slice(h.reshaped([n, config.width]), axis: 0, range: 0..<1) // [1, C]
        }
        let mean = g.constant(Tensor(repeating: 1 / Float(n), shape: [1, n]))
        return matmul(mean, x)                                                 // [1, C]
    }
}
