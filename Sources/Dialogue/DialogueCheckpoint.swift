import Autograd
import Foundation
import NN
import Tensor
import Text

/// Which of the paper's systems a model is.
public enum DialogueSystem: String, Codable, CaseIterable, Sendable {
    case dialogue
    case dialoguePersona = "dialogue-persona"
    case paml
}

/// How a model is adapted to a persona's few dialogues (SGD passes over them); stored in the checkpoint of a model
/// whose adaptation protocol was chosen (the shipped PAML model), so `chat` and `generate` use that protocol.
public struct AdaptationSettings: Codable, Equatable, Sendable, ValidatedConfig {
    public var steps: Int
    public var learningRate: Float
    public var gradientClip: Float
    public var batchSize: Int

    public init(steps: Int, learningRate: Float, gradientClip: Float, batchSize: Int = 32) {
        self.steps = steps
        self.learningRate = learningRate
        self.gradientClip = gradientClip
        self.batchSize = batchSize
    }

    /// The tool's protocol for a model that stores none: 3 passes at 0.003, clip 2 (the first shipped PAML model's).
    public static let standard = AdaptationSettings(steps: 3, learningRate: 0.003, gradientClip: 2)

    /// These settings with each given value replaced.
    public func overriding(steps: Int?, learningRate: Float?, gradientClip: Float?) -> AdaptationSettings {
        AdaptationSettings(steps: steps ?? self.steps, learningRate: learningRate ?? self.learningRate,
                           gradientClip: gradientClip ?? self.gradientClip, batchSize: batchSize)
    }

    public func validate() throws {
        try Check.within(steps, 0...1000, "adaptation.steps")
        try Check.finite(learningRate, "adaptation.learningRate", from: 0, to: 10)
        try Check.finite(gradientClip, "adaptation.gradientClip", from: 0)
        try Check.within(batchSize, 1...65_536, "adaptation.batchSize")
    }
}

/// Everything needed to rebuild a trained dialogue model; saved in its checkpoint.
public struct DialogueModelConfig: Codable, Equatable, Sendable, ValidatedConfig {
    public var system: DialogueSystem
    public var model: Seq2SeqConfig
    public var format: DialogueFormat
    /// Meta-dataset construction seed (the persona split depends on it).
    public var dataSeed: UInt64
    /// The adaptation protocol to use with this model (nil: the tool's defaults).
    public var adaptation: AdaptationSettings?
    /// The stored protocol, else `AdaptationSettings.standard`.
    public var adaptationProtocol: AdaptationSettings { adaptation ?? .standard }

    public init(system: DialogueSystem, model: Seq2SeqConfig, format: DialogueFormat, dataSeed: UInt64) {
        self.system = system
        self.model = model
        self.format = format
        self.dataSeed = dataSeed
    }

    public func validate() throws {
        try model.validate()
        try format.validate()
        try adaptation?.validate()
    }
}

/// A dialogue model on disk: config + weights (`Checkpoint`, kind "dialogue") + `vocab.txt`. The one place
/// that writes and reads that folder layout, so every loader gets the same checks: the config validates,
/// the weights match its shapes, are finite and match their checksum, and the vocabulary has exactly the
/// size the config was built for.
public struct DialogueCheckpoint {
    public static let kind = "dialogue"
    public var config: DialogueModelConfig
    public var parameters: Parameters
    public var vocabulary: Vocabulary
    public var metadata: [String: String]
    public var optimizer: OptimizerState?
    public var folder: URL?
    public var model: Seq2Seq { Seq2Seq(config: config.model) }

    public init(config: DialogueModelConfig, parameters: Parameters, vocabulary: Vocabulary,
                metadata: [String: String] = [:], optimizer: OptimizerState? = nil) {
        self.config = config
        self.parameters = parameters
        self.vocabulary = vocabulary
        self.metadata = metadata
        self.optimizer = optimizer
    }

    /// Loads and checks the checkpoint in `folder`.
    public init(folder: URL) throws {
        let (saved, checkpoint) = try Checkpoint.load(from: folder, as: DialogueModelConfig.self, kind: Self.kind) {
            Seq2Seq(config: $0.model).initialParameters(seed: 0)
        }
        let vocabularyFile = folder.appendingPathComponent("vocab.txt")
        let vocabulary = try Vocabulary.load(from: vocabularyFile)
        guard vocabulary.count == saved.model.vocabularySize else {
            throw CheckpointError.badConfig(file: vocabularyFile, reason: "holds \(vocabulary.count) words, but config.json "
                + "says model.vocabularySize = \(saved.model.vocabularySize) (hint: the vocabulary file was cut or replaced)")
        }
        self.init(config: saved, parameters: checkpoint.parameters, vocabulary: vocabulary, metadata: checkpoint.metadata,
                  optimizer: checkpoint.optimizer)
        self.folder = folder
    }

    /// Whether `folder` holds a checkpoint (of any kind).
    public static func exists(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path)
    }

    /// Writes config, weights (and optimizer state) atomically, then the vocabulary.
    public func save(to folder: URL) throws {
        try Checkpoint.save(parameters: parameters, config: config, kind: Self.kind, to: folder,
                            metadata: metadata, optimizer: optimizer)
        try vocabulary.save(to: folder.appendingPathComponent("vocab.txt"))
    }
}

extension DialogueCheckpoint {
    /// The same model with `words` appended to its vocabulary, their embedding rows `rows` [n, E] (the tied output
    /// layer grows with them). Old ids keep their meaning, so text encoded with the old vocabulary scores the same way.
    public func addingWords(_ words: [String], rows: Tensor) throws -> DialogueCheckpoint {
        let width = config.model.embeddingWidth
        precondition(rows.shape == [words.count, width], "addingWords: rows \(rows.shape), expected [\(words.count), \(width)]")
        let grown = try Vocabulary(words: Array(vocabulary.tokens.dropFirst(Vocabulary.specials.count)) + words)
        var newConfig = config
        newConfig.model.vocabularySize = grown.count
        var parameters = self.parameters
        let table = parameters["embedding.weight"]!                                       // [V, E]
        parameters["embedding.weight"] = Tensor(shape: [grown.count, width], scalars: table.scalars + rows.scalars)  // [V + n, E]
        return DialogueCheckpoint(config: newConfig, parameters: parameters, vocabulary: grown, metadata: metadata)
    }
}
