import Foundation
import Tensor
import Autograd
import NN
import Text

// BERT encoder (Devlin et al. 2019) with the all-MiniLM-L6-v2 weights (Wang et al. 2020, MiniLM; Reimers &
// Gurevych 2019, sentence-transformers), for the NLI consistency scorer.
//
// Shapes: B batch, T time, C hidden width, H heads, D head depth (C = H * D), F intermediate width.
//
// Design notes
// - Post-norm, as the original: x = LN(x + Attn(x)); x = LN(x + W2 gelu(W1 x)). LayerNorm eps 1e-12.
// - Built from the Autograd ops on a `Graph`, so the same forward runs for inference (trainable: false,
//   nothing recorded for backward) and for fine-tuning (gradients for every weight).
// - Parameter names are Hugging Face's `BertModel` names (`encoder.layer.0.attention.self.query.weight`),
//   optionally under a prefix, so the safetensors file loads as it is and saves back the same way.

/// BERT's hyper-parameters, decoded from (and named as in) Hugging Face's config.json.
public struct BertConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var hiddenDropout: Float
    public var attentionDropout: Float
    /// Only "gelu" (the exact erf form) is implemented.
    public var hiddenActivation: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", hiddenSize = "hidden_size", layers = "num_hidden_layers"
        case heads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositions = "max_position_embeddings", typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps", hiddenDropout = "hidden_dropout_prob"
        case attentionDropout = "attention_probs_dropout_prob", hiddenActivation = "hidden_act"
    }

    public init(vocabularySize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int,
                maxPositions: Int = 512, typeVocabularySize: Int = 2, layerNormEpsilon: Float = 1e-12,
                hiddenDropout: Float = 0.1, attentionDropout: Float = 0.1) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.hiddenDropout = hiddenDropout
        self.attentionDropout = attentionDropout
        self.hiddenActivation = "gelu"
    }

    /// all-MiniLM-L6-v2: 6 layers, width 384, 12 heads of 32, FFN 1536, WordPiece vocabulary of 30522.
    public static let miniLM = BertConfig(vocabularySize: 30522, hiddenSize: 384, layers: 6, heads: 12,
                                          intermediateSize: 1536)

    /// Reads a Hugging Face config.json; unsupported settings are errors naming the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError.unreadable(file: url, reason: error.localizedDescription)
        }
        do { self = try JSONDecoder().decode(BertConfig.self, from: data) } catch {
            throw CheckpointError.badConfig(file: url, reason: "not a BERT config: \(error)")
        }
        guard hiddenActivation == "gelu" else {
            throw CheckpointError.badConfig(file: url, reason: "hidden_act '\(hiddenActivation)' unsupported (only gelu)")
        }
        guard heads > 0, hiddenSize % heads == 0 else {
            throw CheckpointError.badConfig(file: url, reason: "hidden_size \(hiddenSize) not divisible by \(heads) heads")
        }
    }
}

/// The BERT encoder: token ids -> contextual vectors [B, T, C].
public struct BertEncoder: Sendable {
    public let config: BertConfig
    /// Prepended to every parameter name ("" for the bare Hugging Face names, "bert." inside a classifier).
    public let prefix: String

    /// Tensors of Hugging Face checkpoints that this encoder does not use: the position-id buffer and the
    /// [CLS] pooler (sentence embeddings here are mean-pooled).
    public static let ignoredCheckpointTensors: Set<String> = [
        "embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias",
    ]

    public init(config: BertConfig, prefix: String = "") {
        precondition(config.hiddenSize % config.heads == 0, "hidden size \(config.hiddenSize) not divisible by \(config.heads) heads")
        self.config = config
        self.prefix = prefix
    }

    var wordEmbeddings: Embedding { Embedding(name: "\(prefix)embeddings.word_embeddings", vocabularySize: config.vocabularySize, width: config.hiddenSize) }
    var positionEmbeddings: Embedding { Embedding(name: "\(prefix)embeddings.position_embeddings", vocabularySize: config.maxPositions, width: config.hiddenSize) }
    var typeEmbeddings: Embedding { Embedding(name: "\(prefix)embeddings.token_type_embeddings", vocabularySize: config.typeVocabularySize, width: config.hiddenSize) }
    var embeddingNorm: LayerNorm { LayerNorm(name: "\(prefix)embeddings.LayerNorm", width: config.hiddenSize, epsilon: config.layerNormEpsilon) }

    /// The layers of block `l`, under Hugging Face's names.
    struct Block {
        let query, key, value, attentionOutput, intermediate, output: Linear
        let attentionNorm, outputNorm: LayerNorm
    }

    func block(_ l: Int) -> Block {
        let p = "\(prefix)encoder.layer.\(l)."
        let c = config.hiddenSize, f = config.intermediateSize, eps = config.layerNormEpsilon
        return Block(
            query: Linear(name: p + "attention.self.query", inputSize: c, outputSize: c),
            key: Linear(name: p + "attention.self.key", inputSize: c, outputSize: c),
            value: Linear(name: p + "attention.self.value", inputSize: c, outputSize: c),
            attentionOutput: Linear(name: p + "attention.output.dense", inputSize: c, outputSize: c),
            intermediate: Linear(name: p + "intermediate.dense", inputSize: c, outputSize: f),
            output: Linear(name: p + "output.dense", inputSize: f, outputSize: c),
            attentionNorm: LayerNorm(name: p + "attention.output.LayerNorm", width: c, epsilon: eps),
            outputNorm: LayerNorm(name: p + "output.LayerNorm", width: c, epsilon: eps))
    }

    /// Names and shapes of every parameter, in Hugging Face's order within each block.
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        let c = config.hiddenSize
        var out: [(name: String, shape: [Int])] = []
        for e in [wordEmbeddings, positionEmbeddings, typeEmbeddings] {
            out.append(("\(e.name).weight", [e.vocabularySize, e.width]))
        }
        func norm(_ n: LayerNorm) { out += [("\(n.name).weight", [c]), ("\(n.name).bias", [c])] }
        func affine(_ f: Linear) { out += [("\(f.name).weight", [f.outputSize, f.inputSize]), ("\(f.name).bias", [f.outputSize])] }
        norm(embeddingNorm)
        for l in 0..<config.layers {
            let b = block(l)
            [b.query, b.key, b.value, b.attentionOutput].forEach(affine)
            norm(b.attentionNorm)
            [b.intermediate, b.output].forEach(affine)
            norm(b.outputNorm)
        }
        return out
    }

    /// BERT's initialisation: weights and embeddings Normal(0, 0.02), biases 0, LayerNorm weight 1.
    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        for (name, shape) in parameterShapes() {
            if name.hasSuffix(".bias") {
                parameters[name] = Tensor(zeros: shape)
            } else if name.hasSuffix("LayerNorm.weight") {
                parameters[name] = Tensor(repeating: 1, shape: shape)
            } else {
                parameters[name] = Tensor.randomNormal(shape, std: 0.02, using: &rng)
            }
        }
    }

    /// A pretrained model folder (config.json + model.safetensors, e.g. `MiniLMLocation.find()`).
    /// Strict: every parameter must be present with its shape; tensors other than the model's and
    /// `ignoredCheckpointTensors` are errors.
    public static func loadPretrained(from folder: URL, prefix: String = "") throws -> (encoder: BertEncoder, parameters: Parameters) {
        let config = try BertConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let encoder = BertEncoder(config: config, prefix: prefix)
        let file = folder.appendingPathComponent("model.safetensors")
        let (stored, _) = try SafeTensors.read(file)
        var parameters = Parameters()
        var missing: [String] = [], misshaped: [String: (found: [Int], expected: [Int])] = [:]
        var expected = Set<String>()
        for (name, shape) in encoder.parameterShapes() {
            let storedName = String(name.dropFirst(prefix.count))
            expected.insert(storedName)
            guard let tensor = stored[storedName] else { missing.append(storedName); continue }
            if tensor.shape != shape { misshaped[storedName] = (tensor.shape, shape); continue }
            parameters[name] = tensor
        }
        let unexpected = stored.names.filter { !expected.contains($0) && !ignoredCheckpointTensors.contains($0) }
        if !missing.isEmpty || !unexpected.isEmpty || !misshaped.isEmpty {
            throw CheckpointError.tensorMismatch(file: file, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
        return (encoder, parameters)
    }

    /// Last hidden states [B, T, C] of a padded batch; padded keys are never attended to (their own rows
    /// are computed but meaningless). Dropout (hidden and attention) applies when `g.training`.
    public func callAsFunction(_ g: Graph, _ batch: BertBatch) -> Var {
        encode(g, embed(g, batch), batch: batch, layers: 0..<config.layers)
    }

    /// The embedding stage: LN(word + position + segment embeddings) [B, T, C].
    public func embed(_ g: Graph, _ batch: BertBatch) -> Var {
        let (bsz, t) = (batch.batchSize, batch.length)
        precondition(t <= config.maxPositions, "sequence length \(t) exceeds \(config.maxPositions) positions")
        let positions = (0..<bsz).flatMap { _ in 0..<t }                                    // [B*T]
        let x = wordEmbeddings(g, batch.inputIDs, shape: [bsz, t])                          // [B, T, C]
            + positionEmbeddings(g, positions, shape: [bsz, t])                              // [B, T, C]
            + typeEmbeddings(g, batch.tokenTypeIDs, shape: [bsz, t])                         // [B, T, C]
        return g.dropout(embeddingNorm(g, x), rate: config.hiddenDropout)                   // [B, T, C]
    }

    /// Runs blocks `layers` on hidden states x [B, T, C] of `batch` (its mask hides padded keys), so a
    /// fine-tuned top can start from cached outputs of frozen lower blocks.
    public func encode(_ g: Graph, _ input: Var, batch: BertBatch, layers: Range<Int>) -> Var {
        let (bsz, t, c) = (batch.batchSize, batch.length, config.hiddenSize)
        precondition(input.shape == [bsz, t, c], "encode: input \(input.shape) for a [\(bsz), \(t), \(c)] batch")
        precondition(layers.lowerBound >= 0 && layers.upperBound <= config.layers, "encode: layers \(layers) of \(config.layers)")
        var x = input
        let padding = batch.attentionMask.map { $0 == 0 }                                  // [B*T]
        let mask = AttentionMask(keyPadding: padding.contains(true) ? padding : nil)
        for l in layers {
            let b = block(l)
            let q = splitHeads(b.query(g, x), heads: config.heads)                           // [B, H, T, D]
            let k = splitHeads(b.key(g, x), heads: config.heads)                             // [B, H, T, D]
            let v = splitHeads(b.value(g, x), heads: config.heads)                           // [B, H, T, D]
            let attended = scaledDotProductAttention(query: q, key: k, value: v, mask: mask,
                                                     dropout: config.attentionDropout, graph: g)  // [B, H, T, D]
            let a = b.attentionOutput(g, mergeHeads(attended))                               // [B, T, C]
            x = b.attentionNorm(g, g.dropout(a, rate: config.hiddenDropout) + x)             // [B, T, C]
            let h = b.output(g, gelu(b.intermediate(g, x)))                                  // [B, T, F] -> [B, T, C]
            x = b.outputNorm(g, g.dropout(h, rate: config.hiddenDropout) + x)                // [B, T, C]
        }
        precondition(x.shape == [bsz, t, c])
        return x
    }

    /// Mean over real tokens: e_b = Σ_t m_bt h_bt / Σ_t m_bt (sentence-transformers' pooling).
    /// hidden [B, T, C], mask B*T (1 real, 0 padding) -> [B, C]. A row without real tokens pools to zero.
    public static func meanPool(_ g: Graph, _ hidden: Var, mask: [Int]) -> Var {
        let (bsz, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        precondition(mask.count == bsz * t, "mean pool: \(mask.count) mask entries for [\(bsz), \(t)]")
        var weights = [Float](repeating: 0, count: bsz * t)
        for b in 0..<bsz {
            let n = mask[(b * t)..<((b + 1) * t)].reduce(0, +)
            guard n > 0 else { continue }
            for i in 0..<t where mask[b * t + i] != 0 { weights[b * t + i] = 1 / Float(n) }
        }
        let w = g.constant(Tensor(shape: [bsz, 1, t], scalars: weights))                   // [B, 1, T]
        return matmul(w, hidden).reshaped([bsz, c])                                         // [B, 1, C] -> [B, C]
    }
}
