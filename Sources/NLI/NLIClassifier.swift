import Foundation
import Tensor
import Autograd
import NN
import Text

// NLI cross-encoder for the consistency score C (Welleck et al. 2019; Madotto et al. 2019, PAML §4):
// BertEncoder over "[CLS] premise [SEP] hypothesis [SEP]", mean-pooled, then a Linear head -> 3 labels.
//
// Shapes: B batch, T time, C hidden width, K labels (3).
//
// Design notes
// - Pooling: mean over real tokens, not the [CLS] state. all-MiniLM-L6-v2 was trained (sentence-transformers)
//   with mean pooling and its [CLS] state carries no training objective; with only the top blocks adapted,
//   the mean is the better-conditioned input for the head.
// - Only the top `trainedLayers` blocks and the head are fine-tuned; the embeddings and lower blocks stay the
//   pretrained ones, loaded from the pip package at run time. The checkpoint holds only the trained tensors
//   (1.77 M floats = 7.1 MB per block, plus the head), so it ships in the repository.
// - Scoring runs the forward-only `BertInference` (NLIInference.swift); the Autograd forward here is the
//   training path and the reference the fast path is tested against.
// - Training caches the frozen lower blocks' outputs once per example (exact: with key-padding masks the
//   rows of real tokens do not depend on padding), so an epoch costs only the top blocks' forward/backward.
// - Parameter names are Hugging Face's BertForSequenceClassification names: `bert.encoder.layer.5...`,
//   `classifier.weight` [K, C], `classifier.bias` [K].

/// The classifier's saved configuration.
public struct NLIConfig: Codable, Equatable, Sendable, ValidatedConfig {
    /// Checked on every checkpoint load: a config.json edited into nonsense is refused, not run.
    public func validate() throws {
        try Check.within(bert.layers, 1...48, "bert.layers")
        try Check.within(bert.hiddenSize, 1...8192, "bert.hiddenSize")
        try Check.within(bert.heads, 1...64, "bert.heads")
        guard bert.hiddenSize % bert.heads == 0 else {
            throw ConfigError(field: "bert.hiddenSize", value: "\(bert.hiddenSize)", allowed: "a multiple of bert.heads (\(bert.heads))")
        }
        try Check.within(bert.intermediateSize, 1...65536, "bert.intermediateSize")
        try Check.within(bert.vocabularySize, 1...1_000_000, "bert.vocabularySize")
        try Check.within(bert.maxPositions, 2...65536, "bert.maxPositions")
        try Check.within(bert.typeVocabularySize, 1...16, "bert.typeVocabularySize")
        try Check.positive(bert.layerNormEpsilon, "bert.layerNormEpsilon", upTo: 1)
        try Check.dropout(bert.hiddenDropout, "bert.hiddenDropout")
        try Check.dropout(bert.attentionDropout, "bert.attentionDropout")
        try Check.within(trainedLayers, 0...bert.layers, "trainedLayers")
        try Check.within(maxLength, 3...bert.maxPositions, "maxLength")
    }

    public var bert: BertConfig
    /// Top blocks that are fine-tuned and saved in the checkpoint.
    public var trainedLayers: Int
    /// Longest "[CLS] premise [SEP] hypothesis [SEP]" in WordPiece ids (longer pairs are truncated).
    public var maxLength: Int

    public init(bert: BertConfig = .miniLM, trainedLayers: Int = 2, maxLength: Int = 128) {
        precondition((0...bert.layers).contains(trainedLayers), "trainedLayers \(trainedLayers) outside 0...\(bert.layers)")
        self.bert = bert
        self.trainedLayers = trainedLayers
        self.maxLength = maxLength
    }
}

public struct NLIClassifier: Sendable {
    public static let checkpointKind = "paml.nli"
    public let config: NLIConfig
    public let encoder: BertEncoder
    public let head: Linear

    public init(config: NLIConfig) {
        self.config = config
        encoder = BertEncoder(config: config.bert, prefix: "bert.")
        head = Linear(name: "classifier", inputSize: config.bert.hiddenSize, outputSize: NLILabel.allCases.count)
    }

    /// Blocks kept at their pretrained values.
    public var frozenLayers: Range<Int> { 0..<(config.bert.layers - config.trainedLayers) }
    /// Blocks fine-tuned (and saved).
    public var trainedLayers: Range<Int> { (config.bert.layers - config.trainedLayers)..<config.bert.layers }

    /// Whether `name` is a fine-tuned (saved) tensor: the head or a block in `trainedLayers`.
    public func isTrained(_ name: String) -> Bool {
        if name.hasPrefix(head.name + ".") { return true }
        return trainedLayers.contains { name.hasPrefix("\(encoder.prefix)encoder.layer.\($0).") }
    }

    /// The trained subset of `parameters`, in order.
    public func trainedSubset(_ parameters: Parameters) -> Parameters {
        Parameters(parameters.filter { isTrained($0.name) }.map { ($0.name, $0.tensor) })
    }

    /// Names and shapes of the saved tensors (for strict checkpoint loading).
    public func trainedShapes() -> Parameters {
        var out = Parameters()
        for (name, shape) in encoder.parameterShapes() where isTrained(name) { out[name] = Tensor(zeros: shape) }
        out["\(head.name).weight"] = Tensor(zeros: [head.outputSize, head.inputSize])
        out["\(head.name).bias"] = Tensor(zeros: [head.outputSize])
        return out
    }

    /// The head on pooled states: hidden [B, T, C] -> logits [B, K]; dropout before the head when training.
    public func logits(_ g: Graph, hidden: Var, batch: BertBatch) -> Var {
        let pooled = BertEncoder.meanPool(g, hidden, mask: batch.attentionMask)            // [B, C]
        return head(g, g.dropout(pooled, rate: config.bert.hiddenDropout))                  // [B, K]
    }

    /// Full forward: logits [B, K] of a batch of encoded pairs.
    public func callAsFunction(_ g: Graph, _ batch: BertBatch) -> Var {
        logits(g, hidden: encoder(g, batch), batch: batch)
    }

    /// Logits [B, K] from the frozen blocks' output [B, T, C] (training on cached states).
    public func logits(_ g: Graph, frozenOutput: Var, batch: BertBatch) -> Var {
        logits(g, hidden: encoder.encode(g, frozenOutput, batch: batch, layers: trainedLayers), batch: batch)
    }

    /// A fresh head (Normal(0, 0.02) weight, zero bias, as BERT) added to `parameters`.
    public func initializeHead(into parameters: inout Parameters, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        parameters["\(head.name).weight"] = Tensor.randomNormal([head.outputSize, head.inputSize], std: 0.02, using: &rng)
        parameters["\(head.name).bias"] = Tensor(zeros: [head.outputSize])
    }

    /// Loads a trained checkpoint and completes it with the pretrained encoder from `pretrained`
    /// (a MiniLM folder): the saved tensors replace the pretrained ones of the same names.
    public static func load(checkpoint folder: URL, pretrained: URL) throws -> (classifier: NLIClassifier, parameters: Parameters, checkpoint: Checkpoint) {
        let (config, checkpoint) = try Checkpoint.load(from: folder, as: NLIConfig.self, kind: checkpointKind,
                                                       expecting: { NLIClassifier(config: $0).trainedShapes() })
        let (_, base) = try BertEncoder.loadPretrained(from: pretrained, prefix: "bert.")
        guard try BertConfig(contentsOf: pretrained.appendingPathComponent("config.json")) == config.bert else {
            throw CheckpointError.badConfig(file: folder, reason: "BERT config differs from the pretrained model's in \(pretrained.path)")
        }
        var parameters = base
        for (name, tensor) in checkpoint.parameters { parameters[name] = tensor }
        return (NLIClassifier(config: config), parameters, checkpoint)
    }

    /// Encodes pairs with the tokenizer ("[CLS] premise [SEP] hypothesis [SEP]", truncated to maxLength).
    public func encode(_ pairs: [(premise: String, hypothesis: String)], tokenizer: WordPieceTokenizer) -> [BertEncoding] {
        pairs.map { tokenizer.encode(premise: $0.premise, hypothesis: $0.hypothesis, maxLength: config.maxLength) }
    }

    /// The forward-only encoder for `parameters` (copies the weights once; reuse it across calls).
    public func inference(_ parameters: Parameters) -> BertInference {
        BertInference(encoder: encoder, parameters: parameters)
    }

    /// Logits [N, K] of the head on mean-pooled states [S, C] (`BertInference.meanPool`).
    func headLogits(pooled: [Float], count: Int, parameters: Parameters) -> [Float] {
        let (c, k) = (config.bert.hiddenSize, head.outputSize)
        var out = [Float](repeating: 0, count: count * k)                                   // [S, K]
        let weight = parameters.require("\(head.name).weight").scalars, bias = parameters.require("\(head.name).bias").scalars
        pooled.withUnsafeBufferPointer { x in weight.withUnsafeBufferPointer { w in out.withUnsafeMutableBufferPointer { o in
            sgemm(x.baseAddress!, transposeA: false, w.baseAddress!, transposeB: true, o.baseAddress!, m: count, n: k, k: c)
        } } }
        for s in 0..<count { for j in 0..<k { out[s * k + j] += bias[j] } }
        return out
    }

    /// Logits [N, K] for encoded pairs, in input order, by the forward-only path: chunks of `batchSize`
    /// pairs packed without padding. Same function as `callAsFunction` at inference (no dropout).
    public func logits(_ encodings: [BertEncoding], inference: BertInference, parameters: Parameters, batchSize: Int = 512) -> Tensor {
        precondition(batchSize > 0, "batch size must be positive")
        let k = head.outputSize
        var out: [Float] = []
        out.reserveCapacity(encodings.count * k)
        for start in stride(from: 0, to: encodings.count, by: batchSize) {
            let packed = PackedSequences(Array(encodings[start..<min(start + batchSize, encodings.count)]))
            var x = inference.embed(packed)                                                 // [N, C]
            inference.encode(&x, packed, layers: 0..<config.bert.layers)
            out += headLogits(pooled: inference.meanPool(x, packed), count: packed.sequenceCount, parameters: parameters)
        }
        return Tensor(shape: [encodings.count, k], scalars: out)
    }

    /// Label probabilities [N, K] (softmax of `logits`), in input order.
    public func probabilities(_ encodings: [BertEncoding], parameters: Parameters, batchSize: Int = 512,
                              inference: BertInference? = nil) -> Tensor {
        let logits = logits(encodings, inference: inference ?? self.inference(parameters), parameters: parameters, batchSize: batchSize)
        let k = head.outputSize
        var out = logits.scalars
        for row in 0..<encodings.count {
            let m = out[(row * k)..<((row + 1) * k)].max()!
            var z: Float = 0
            for c in 0..<k { out[row * k + c] = exp(out[row * k + c] - m); z += out[row * k + c] }
            for c in 0..<k { out[row * k + c] /= z }
        }
        return Tensor(shape: [encodings.count, k], scalars: out)
    }

    /// Predicted labels, in input order.
    public func predict(_ encodings: [BertEncoding], parameters: Parameters, batchSize: Int = 512,
                        inference: BertInference? = nil) -> [NLILabel] {
        logits(encodings, inference: inference ?? self.inference(parameters), parameters: parameters, batchSize: batchSize)
            .argmaxRows().map { NLILabel(rawValue: $0)! }
    }

    /// Outputs of the frozen blocks for each encoding, unpadded: [T_i * C] scalars per pair.
    public func frozenStates(_ encodings: [BertEncoding], parameters: Parameters, batchSize: Int = 512,
                             progress: ((Int) -> Void)? = nil) -> [[Float]] {
        let c = config.bert.hiddenSize
        let inference = inference(parameters)
        var out: [[Float]] = []
        out.reserveCapacity(encodings.count)
        for start in stride(from: 0, to: encodings.count, by: batchSize) {
            let packed = PackedSequences(Array(encodings[start..<min(start + batchSize, encodings.count)]))
            var x = inference.embed(packed)                                                 // [N, C]
            inference.encode(&x, packed, layers: frozenLayers)
            for s in 0..<packed.sequenceCount { out.append(Array(x[(packed.offsets[s] * c)..<(packed.offsets[s + 1] * c)])) }
            progress?(out.count)
        }
        return out
    }
}

/// Per-class and overall accuracy from gold and predicted labels.
public struct NLIAccuracy: Equatable, Sendable, Codable {
    /// confusion[gold][predicted] counts.
    public var confusion: [[Int]]

    public init(gold: [NLILabel], predicted: [NLILabel]) {
        precondition(gold.count == predicted.count, "\(gold.count) gold labels, \(predicted.count) predictions")
        confusion = Array(repeating: Array(repeating: 0, count: NLILabel.allCases.count), count: NLILabel.allCases.count)
        for (g, p) in zip(gold, predicted) { confusion[g.rawValue][p.rawValue] += 1 }
    }

    public var total: Int { confusion.joined().reduce(0, +) }
    public var correct: Int { NLILabel.allCases.reduce(0) { $0 + confusion[$1.rawValue][$1.rawValue] } }
    public var overall: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    public func count(_ label: NLILabel) -> Int { confusion[label.rawValue].reduce(0, +) }
    /// Of the pairs predicted `label`, the fraction whose gold label is `label` (0 when none is predicted).
    public func precision(_ label: NLILabel) -> Double {
        let predicted = confusion.reduce(0) { $0 + $1[label.rawValue] }
        return predicted == 0 ? 0 : Double(confusion[label.rawValue][label.rawValue]) / Double(predicted)
    }
    /// Recall of `label`: correct / gold examples of that label.
    public func accuracy(_ label: NLILabel) -> Double {
        count(label) == 0 ? 0 : Double(confusion[label.rawValue][label.rawValue]) / Double(count(label))
    }
}
