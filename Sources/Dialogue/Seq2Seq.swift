import Autograd
import NN
import Tensor
import Text

// The dialogue model: a Transformer encoder over the dialogue history (optionally with the persona
// sentences in front of it) and a Transformer decoder for the response (PAML, Madotto et al. 2019, sec. 3;
// the architecture of Vaswani et al. 2017 with pre-norm blocks as in the PAML release).
//
//   source ids [B, S] -> embedding [B, S, E] -> encoder (E -> C projection, positions, N layers) -> memory [B, S, C]
//   target ids [B, T] -> embedding [B, T, E] -> decoder (causal self-attn, cross-attn over memory) -> h [B, T, C]
//   h -> outputProjection (C -> E) -> tied embedding E^T -> logits [B, T, V]
//   with `pointerGenerator` (the release's pointer_gen option): P(w) = g softmax(logits)_w + (1 - g) Σ_{s: x_s = w} a_s,
//   g = σ(h w_g + b_g), a = softmax_s((h W_q)·(memory W_k) / sqrt(K)) over the real source positions: a pointer
//   attention of its own (the release reuses the last decoder layer's cross-attention logits, averaged over heads).
//
// The embedding table is shared by the encoder input, the decoder input and the output layer (PAML's
// weight sharing); it starts from GloVe vectors (E = 50 here, 6B 50d) and is projected to the model width.

/// Sizes of the dialogue model; saved in every checkpoint.
public struct Seq2SeqConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    /// Width E of the (GloVe) word embeddings.
    public var embeddingWidth: Int
    /// Encoder and decoder stacks (same sizes for both, as in PAML).
    public var transformer: TransformerConfig
    /// Label smoothing of the training loss (Szegedy et al. 2016); evaluation NLL never smooths.
    public var labelSmoothing: Float
    /// Copy words from the source with a pointer-generator output (See et al. 2017).
    public var pointerGenerator: Bool

    public init(vocabularySize: Int, embeddingWidth: Int = 50,
                transformer: TransformerConfig = TransformerConfig(), labelSmoothing: Float = 0.1, pointerGenerator: Bool = false) {
        self.vocabularySize = vocabularySize
        self.embeddingWidth = embeddingWidth
        self.transformer = transformer
        self.labelSmoothing = labelSmoothing
        self.pointerGenerator = pointerGenerator
    }

    enum CodingKeys: String, CodingKey { case vocabularySize, embeddingWidth, transformer, labelSmoothing, pointerGenerator }

    /// Checkpoints written before the pointer-generator option have none.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        embeddingWidth = try c.decode(Int.self, forKey: .embeddingWidth)
        transformer = try c.decode(TransformerConfig.self, forKey: .transformer)
        labelSmoothing = try c.decode(Float.self, forKey: .labelSmoothing)
        pointerGenerator = try c.decodeIfPresent(Bool.self, forKey: .pointerGenerator) ?? false
    }

    /// Old configs are written without the key, so their bytes (and checksums of configs) do not change.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(embeddingWidth, forKey: .embeddingWidth)
        try c.encode(transformer, forKey: .transformer)
        try c.encode(labelSmoothing, forKey: .labelSmoothing)
        if pointerGenerator { try c.encode(pointerGenerator, forKey: .pointerGenerator) }
    }
}

extension Seq2SeqConfig: ValidatedConfig {
    public func validate() throws {
        try Check.within(vocabularySize, 5...2_000_000, "model.vocabularySize")
        try Check.within(embeddingWidth, 1...4096, "model.embeddingWidth")
        try transformer.validate()
        try Check.finite(labelSmoothing, "model.labelSmoothing", from: 0, to: 1, upperOpen: true)
        if pointerGenerator && labelSmoothing > 0 {
            throw ConfigError(field: "model.labelSmoothing", value: "\(labelSmoothing)", allowed: "0 with the pointer-generator output (its loss is plain NLL)")
        }
    }
}

/// A batch of (source, response) pairs as padded id matrices.
///
/// Sources are right-padded with PAD; `targetInput` is SOS + response, `targetOutput` is response + EOS
/// (both right-padded), so position t of the decoder predicts `targetOutput[t]`.
public struct Seq2SeqBatch: Sendable {
    public let batchSize: Int
    public let sourceLength: Int
    public let targetLength: Int
    /// [B * S] row-major.
    public let sourceIDs: [Int]
    /// [B * S], true where the source is padding.
    public let sourcePadding: [Bool]
    /// [B * T] row-major.
    public let targetInput: [Int]
    public let targetOutput: [Int]

    /// Pads `sources` and `responses` (token ids without SOS/EOS) into one batch.
    public init(sources: [[Int]], responses: [[Int]]) {
        precondition(sources.count == responses.count && !sources.isEmpty,
                     "batch of \(sources.count) sources and \(responses.count) responses")
        batchSize = sources.count
        sourceLength = max(1, sources.map(\.count).max()!)
        targetLength = responses.map(\.count).max()! + 1
        var sourceIDs = [Int](repeating: Vocabulary.padID, count: batchSize * sourceLength)
        var padding = [Bool](repeating: true, count: batchSize * sourceLength)
        var input = [Int](repeating: Vocabulary.padID, count: batchSize * targetLength)
        var output = input
        for b in 0..<batchSize {
            for (t, id) in sources[b].enumerated() {
                sourceIDs[b * sourceLength + t] = id
                padding[b * sourceLength + t] = false
            }
            let full = [Vocabulary.sosID] + responses[b] + [Vocabulary.eosID]
            for t in 0..<(full.count - 1) {
                input[b * targetLength + t] = full[t]
                output[b * targetLength + t] = full[t + 1]
            }
        }
        if sources.contains(where: \.isEmpty) {
            // An empty history still needs one key to attend to: a PAD that is not masked.
            for b in 0..<batchSize where sources[b].isEmpty { padding[b * sourceLength] = false }
        }
        self.sourceIDs = sourceIDs
        self.sourcePadding = padding
        self.targetInput = input
        self.targetOutput = output
    }

    /// Number of target tokens scored (responses + EOS, no padding).
    public var targetTokenCount: Int { targetOutput.filter { $0 != Vocabulary.padID }.count }

    /// The examples cut into at most `count` contiguous sub-batches, each padded to its own lengths, for
    /// `valueAndGradient(at:parts:weights:)` with weights = their `targetTokenCount`: the token-weighted
    /// mean of their losses is this batch's loss.
    public func split(into count: Int) -> [Seq2SeqBatch] {
        let parts = Swift.max(1, Swift.min(count, batchSize))
        let share = (batchSize + parts - 1) / parts
        return stride(from: 0, to: batchSize, by: share).map { start in
            let rows = start..<Swift.min(batchSize, start + share)
            // An unmasked PAD stands for an empty history; keeping it keeps the example's meaning.
            let sources = rows.map { b in (0..<sourceLength).filter { !sourcePadding[b * sourceLength + $0] }.map { sourceIDs[b * sourceLength + $0] } }
            let responses = rows.map { b in Array(targetOutput[(b * targetLength)..<((b + 1) * targetLength)].prefix { $0 != Vocabulary.eosID }) }
            return Seq2SeqBatch(sources: sources, responses: responses)
        }
    }
}

/// The seq2seq Transformer. A value type holding only its configuration; weights live in `Parameters`
/// so MAML can run the same model on adapted copies.
public struct Seq2Seq: Sendable {
    public let config: Seq2SeqConfig

    public init(config: Seq2SeqConfig) { self.config = config }

    public var embedding: Embedding {
        Embedding(name: "embedding", vocabularySize: config.vocabularySize, width: config.embeddingWidth,
                  paddingIndex: Vocabulary.padID)
    }
    public var encoder: TransformerEncoder {
        TransformerEncoder(name: "encoder", config: config.transformer, inputWidth: config.embeddingWidth)
    }
    public var decoder: TransformerDecoder {
        TransformerDecoder(name: "decoder", config: config.transformer, inputWidth: config.embeddingWidth)
    }
    /// Maps the decoder state back to the embedding width for the tied output layer.
    public var outputProjection: Linear {
        Linear(name: "outputProjection", inputSize: config.transformer.width, outputSize: config.embeddingWidth,
               hasBias: false)
    }

    /// The pointer-generator's query and key projections (C -> K) and gate (C -> 1).
    public var pointerQuery: Linear { Linear(name: "pointer.query", inputSize: config.transformer.width, outputSize: config.transformer.keyDepth, hasBias: false) }
    public var pointerKey: Linear { Linear(name: "pointer.key", inputSize: config.transformer.width, outputSize: config.transformer.keyDepth, hasBias: false) }
    public var pointerGate: Linear { Linear(name: "pointer.gate", inputSize: config.transformer.width, outputSize: 1) }

    /// Fresh weights; `pretrained` [V, E] (e.g. GloVe rows for the vocabulary) replaces the random table.
    public func initialParameters(seed: UInt64, pretrained: Tensor? = nil) -> Parameters {
        var rng = SeededGenerator(seed: seed)
        var parameters = Parameters()
        if let pretrained {
            embedding.initialize(into: &parameters, from: pretrained)
        } else {
            embedding.initialize(into: &parameters, using: &rng)
        }
        encoder.initialize(into: &parameters, using: &rng)
        decoder.initialize(into: &parameters, using: &rng)
        outputProjection.initialize(into: &parameters, using: &rng)
        if config.pointerGenerator {
            pointerQuery.initialize(into: &parameters, using: &rng)
            pointerKey.initialize(into: &parameters, using: &rng)
            pointerGate.initialize(into: &parameters, using: &rng)
        }
        return parameters
    }

    /// Encoder memory for a batch: -> [B, S, C].
    public func encode(_ g: Graph, _ batch: Seq2SeqBatch) -> Var {
        let source = embedding(g, batch.sourceIDs, shape: [batch.batchSize, batch.sourceLength])  // [B, S, E]
        return encoder(g, source, padding: batch.sourcePadding)                                    // [B, S, C]
    }

    /// The one decoder forward, used by training (all positions, no cache) and generation (new
    /// positions with a cache). ids [B * T] -> logits [B, T, V].
    public func logits(_ g: Graph, targetIDs: [Int], batchSize: Int, memory: Var, sourcePadding: [Bool],
                       cache: inout KeyValueCache?) -> Var {
        vocabularyLogits(g, decoded(g, targetIDs: targetIDs, batchSize: batchSize, memory: memory,
                                    sourcePadding: sourcePadding, cache: &cache))
    }

    /// Decoder states h [B, T, C] for target ids [B * T].
    public func decoded(_ g: Graph, targetIDs: [Int], batchSize: Int, memory: Var, sourcePadding: [Bool],
                        cache: inout KeyValueCache?) -> Var {
        let time = targetIDs.count / batchSize
        let input = embedding(g, targetIDs, shape: [batchSize, time])                              // [B, T, E]
        return decoder(g, input, memory: memory, sourcePadding: sourcePadding, cache: &cache)      // [B, T, C]
    }

    /// The tied output layer: h [B, T, C] -> logits [B, T, V].
    public func vocabularyLogits(_ g: Graph, _ h: Var) -> Var { embedding.logits(g, outputProjection(g, h)) }

    /// The pointer-generator's copy scores [B * T, S] and gate logits [B * T, 1] for states h [B, T, C].
    public func copyParts(_ g: Graph, _ h: Var, memory: Var) -> (scores: Var, gate: Var) {
        let (b, t, s) = (h.shape[0], h.shape[1], memory.shape[1])
        let scale = 1 / Float(config.transformer.keyDepth).squareRoot()
        let scores = matmul(pointerQuery(g, h), pointerKey(g, memory), transposeB: true) * scale    // [B, T, S]
        return (scores.reshaped([b * t, s]), pointerGate(g, h).reshaped([b * t, 1]))
    }

    /// Training loss: label-smoothed cross-entropy per target token (PAD ignored), averaged; with the
    /// pointer-generator, -log P(target) of the mixed distribution.
    public func loss(_ g: Graph, _ batch: Seq2SeqBatch, labelSmoothing: Float? = nil) -> Var {
        let memory = encode(g, batch)
        var none: KeyValueCache? = nil
        let h = decoded(g, targetIDs: batch.targetInput, batchSize: batch.batchSize, memory: memory,
                        sourcePadding: batch.sourcePadding, cache: &none)                         // [B, T, C]
        let scores = vocabularyLogits(g, h).reshaped([-1, config.vocabularySize])                  // [B * T, V]
        if config.pointerGenerator {
            let copy = copyParts(g, h, memory: memory)
            return pointerGeneratorLoss(vocabularyLogits: scores, copyScores: copy.scores, gate: copy.gate,
                                        source: copySource(batch), targets: batch.targetOutput, ignoreIndex: Vocabulary.padID)
        }
        return crossEntropy(logits: scores, targets: batch.targetOutput,
                            ignoreIndex: Vocabulary.padID, labelSmoothing: labelSmoothing ?? config.labelSmoothing)
    }

    func copySource(_ batch: Seq2SeqBatch) -> CopySource {
        CopySource(ids: batch.sourceIDs, padding: batch.sourcePadding, length: batch.sourceLength,
                   rowsPerItem: batch.targetInput.count / batch.batchSize)
    }

    /// The training loss of `batch` and its gradients at `parameters`: the batch is cut into one
    /// sub-batch per BLAS thread and their passes run side by side (`valueAndGradient(at:parts:weights:)`),
    /// the same loss as one pass over the whole batch. Sub-batch i uses dropout seed `seed + i`.
    public func lossAndGradient(at parameters: Parameters, batch: Seq2SeqBatch, training: Bool = true,
                                seed: UInt64 = 0) -> (value: Float, gradients: Parameters) {
        let parts = batch.split(into: parallelWorkerCount)
        return valueAndGradient(at: parameters, parts: parts, weights: parts.map { Float($0.targetTokenCount) },
                                training: training, seed: seed) { g, part in loss(g, part) }
    }

    /// Summed negative log-likelihood (no smoothing) and the number of target tokens, for perplexity.
    public func negativeLogLikelihood(parameters: Parameters, batch: Seq2SeqBatch) -> (total: Double, count: Int) {
        let g = Graph(parameters: parameters, trainable: false)
        let memory = encode(g, batch)
        var none: KeyValueCache? = nil
        let h = decoded(g, targetIDs: batch.targetInput, batchSize: batch.batchSize, memory: memory,
                        sourcePadding: batch.sourcePadding, cache: &none)
        let scores = vocabularyLogits(g, h).value.reshaped([-1, config.vocabularySize])
        guard config.pointerGenerator else {
            return Autograd.negativeLogLikelihood(logits: scores, targets: batch.targetOutput, ignoreIndex: Vocabulary.padID)
        }
        let copy = copyParts(g, h, memory: memory)
        let logP = pointerGeneratorLogProbabilities(vocabularyLogits: scores, copyScores: copy.scores.value,
                                                    gate: copy.gate.value, source: copySource(batch))
        var total = 0.0, count = 0
        for (r, t) in batch.targetOutput.enumerated() where t != Vocabulary.padID {
            total -= Double(logP.scalars[r * config.vocabularySize + t])
            count += 1
        }
        return (total, count)
    }
}
