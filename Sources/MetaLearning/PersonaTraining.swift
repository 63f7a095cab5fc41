import Autograd
import Dialogue
import Foundation
import NN
import Tensor
import Text

// Training and evaluation of the dialogue models of PAML's Table 1 (Madotto et al. 2019):
//   Dialogue           history -> response, trained on all meta-train dialogues;
//   Dialogue+Persona   persona sentences + history -> response (the upper bound: it sees the persona);
//   Dialogue+FT        the Dialogue model fine-tuned on k dialogues of each test persona;
//   PAML               the Dialogue architecture meta-trained with MAML over personas, then fine-tuned
//                      on k dialogues the same way.
// The k-shot protocol (sec. 4): for each test persona and each of its dialogues, adapt on k of the
// others, evaluate on the held-out one. Perplexity sums NLL and tokens over everything, divides once.

/// A persona's dialogues as encoded examples (one array per dialogue side).
public struct EncodedPersona: Sendable {
    public var id: String
    public var dialogues: [[EncodedExample]]
    public init(id: String, dialogues: [[EncodedExample]]) {
        self.id = id
        self.dialogues = dialogues
    }
}

/// The meta-dataset encoded with one vocabulary and format.
public struct PersonaCorpus: Sendable {
    public let encoder: ExampleEncoder
    public private(set) var personas: [MetaSplit: [EncodedPersona]] = [:]

    public init(encoder: ExampleEncoder, personas: [MetaSplit: [EncodedPersona]]) {
        self.encoder = encoder
        self.personas = personas
    }

    public init(dataset: PersonaMetaDataset, encoder: ExampleEncoder) {
        self.encoder = encoder
        for split in MetaSplit.allCases {
            personas[split] = dataset.tasks(in: split).map { task in
                EncodedPersona(id: task.id, dialogues: task.dialogues.map { $0.examples.map(encoder.encode) })
            }
        }
    }

    public func examples(in split: MetaSplit) -> [EncodedExample] {
        (personas[split] ?? []).flatMap { $0.dialogues.joined() }
    }
}

/// Builds the vocabulary from meta-train token counts (words seen at least `minCount` times).
public func buildVocabulary(_ dataset: PersonaMetaDataset, minCount: Int = 2) -> Vocabulary {
    Vocabulary(counts: ExampleEncoder.tokenCounts(dataset.tasks(in: .train)), minCount: minCount)
}

/// Perplexity of a model over batches: exp(sum NLL / sum tokens).
public func perplexity(_ model: Seq2Seq, _ parameters: Parameters, batches: [Seq2SeqBatch]) -> (ppl: Double, nll: Double, tokens: Int) {
    var total = 0.0, count = 0
    for batch in batches {
        let (nll, tokens) = model.negativeLogLikelihood(parameters: parameters, batch: batch)
        total += nll
        count += tokens
    }
    return (count > 0 ? exp(total / Double(count)) : .nan, total, count)
}

/// Why a training or adaptation run stopped early.
public enum TrainingError: Error, CustomStringConvertible {
    /// The loss (or a gradient, or the weights) stopped being finite at `step`; nothing was saved from that step on.
    case nonFinite(what: String, step: Int, hint: String)

    public var description: String {
        switch self {
        case let .nonFinite(what, step, hint):
            return "\(what) became non-finite at step \(step); stopped without saving it (\(hint))"
        }
    }
}

/// Options of a training run (supervised or meta).
public struct TrainingOptions: Sendable {
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Validate (and keep the best checkpoint) every this many steps.
    public var validateEvery: Int
    /// Save a resumable checkpoint every this many steps (and at the end).
    public var checkpointEvery: Int
    /// Folder of the resumable checkpoint; the best-on-validation model goes to `<folder>/best`.
    public var checkpointFolder: URL?
    /// Global-norm gradient clip (PAML: 2.0).
    public var gradientClip: Float
    /// Supervised validation scores the first this many meta-valid examples (a fixed subset keeps
    /// validation cheap and comparable across steps).
    public var validationExamples: Int
    /// Early stopping: stop after this many validations in a row without a new best (nil: run all steps).
    public var patience: Int?

    public init(steps: Int, batchSize: Int = 32, learningRate: Float = 1e-3, seed: UInt64 = 0, validateEvery: Int = 200,
                checkpointEvery: Int = 200, checkpointFolder: URL? = nil, gradientClip: Float = 2.0,
                validationExamples: Int = 2000) {
        self.validationExamples = validationExamples
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.validateEvery = validateEvery
        self.checkpointEvery = checkpointEvery
        self.checkpointFolder = checkpointFolder
        self.gradientClip = gradientClip
    }
}

extension TrainingOptions: ValidatedConfig {
    public func validate() throws {
        try Check.within(steps, 1...100_000_000, "steps")
        try Check.within(batchSize, 1...65_536, "batchSize")
        try Check.positive(learningRate, "learningRate", upTo: 10)
        try Check.atLeast(validateEvery, 1, "validateEvery")
        try Check.atLeast(checkpointEvery, 1, "checkpointEvery")
        try Check.finite(gradientClip, "gradientClip", from: 0)
        try Check.atLeast(validationExamples, 1, "validationExamples")
        if let patience { try Check.atLeast(patience, 1, "patience") }
    }
}

/// A resumable training state as stored in a checkpoint's metadata.
struct TrainingProgress {
    var step: Int
    var bestValidation: Double
    /// Validations in a row without a new best (for early stopping).
    var staleValidations = 0

    var metadata: [String: String] {
        ["paml.step": "\(step)", "paml.bestValidation": "\(bestValidation)", "paml.staleValidations": "\(staleValidations)"]
    }

    /// Whether early stopping ends the run now.
    func patienceExhausted(_ options: TrainingOptions) -> Bool {
        options.patience.map { staleValidations >= $0 } ?? false
    }

    /// The run settings saved beside the progress, so that a resumed run can say what changed.
    static func settings(_ options: TrainingOptions) -> [String: String] {
        ["paml.learningRate": "\(options.learningRate)", "paml.batchSize": "\(options.batchSize)",
         "paml.seed": "\(options.seed)", "paml.gradientClip": "\(options.gradientClip)"]
    }

    /// "learningRate 0.001 (was 0.01)" for each saved setting that differs from `now`.
    static func changedSettings(saved: [String: String], now: TrainingOptions) -> [String] {
        settings(now).keys.sorted().compactMap { key in
            guard let old = saved[key], let new = settings(now)[key], old != new else { return nil }
            return "\(key.dropFirst(5)) \(new) (was \(old))"
        }
    }

    init(step: Int = 0, bestValidation: Double = .infinity) {
        self.step = step
        self.bestValidation = bestValidation
    }

    init(metadata: [String: String]) {
        step = metadata["paml.step"].flatMap(Int.init) ?? 0
        bestValidation = metadata["paml.bestValidation"].flatMap(Double.init) ?? .infinity
        staleValidations = metadata["paml.staleValidations"].flatMap(Int.init) ?? 0
    }
}

/// Trains Dialogue / Dialogue+Persona / PAML models with checkpoints that resume where they stopped.
public struct DialogueTrainer {
    public let config: DialogueModelConfig
    public let corpus: PersonaCorpus
    public var model: Seq2Seq { Seq2Seq(config: config.model) }

    public init(config: DialogueModelConfig, corpus: PersonaCorpus) {
        self.config = config
        self.corpus = corpus
    }

    /// Saves weights, config, vocabulary and (optionally) optimizer state into `folder`.
    public func save(_ parameters: Parameters, to folder: URL, optimizer: OptimizerState? = nil,
                     metadata: [String: String] = [:]) throws {
        try DialogueCheckpoint(config: config, parameters: parameters, vocabulary: corpus.encoder.vocabulary,
                               metadata: metadata, optimizer: optimizer).save(to: folder)
    }

    /// Continues from the resumable checkpoint in `options.checkpointFolder` when there is one with the
    /// same config: replaces `parameters` and the optimizer state, and returns the saved progress.
    func resume(_ parameters: inout Parameters, _ optimizer: inout Adam, options: TrainingOptions) throws -> TrainingProgress {
        guard let folder = options.checkpointFolder, DialogueCheckpoint.exists(in: folder) else {
            return TrainingProgress()
        }
        let checkpoint = try DialogueCheckpoint(folder: folder)
        guard checkpoint.config == config else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                            reason: "it was trained with another configuration; use a fresh --out folder")
        }
        guard checkpoint.optimizer != nil else {
            throw CheckpointError.badConfig(file: folder.appendingPathComponent("config.json"),
                                            reason: "holds a model without training state (not a run to resume); use a fresh --out folder")
        }
        parameters = checkpoint.parameters
        if let state = checkpoint.optimizer { try optimizer.restore(state) }
        let progress = TrainingProgress(metadata: checkpoint.metadata)
        print("resumed from \(folder.path) at step \(progress.step)")
        for warning in TrainingProgress.changedSettings(saved: checkpoint.metadata, now: options) {
            print("warning: resuming with \(warning)")
        }
        return progress
    }

    /// After a step: keeps the best model on validation (`<folder>/best`) and saves the resumable state
    /// when due. Returns the text for the progress line.
    func bookkeeping(_ parameters: Parameters, _ optimizer: Adam, _ progress: inout TrainingProgress,
                     options: TrainingOptions, validation: (name: String, value: Double)?) throws -> String {
        var extra = ""
        if let (name, value) = validation {
            extra = "\(name) " + String(format: "%.2f", value)
            if value < progress.bestValidation {
                progress.bestValidation = value
                progress.staleValidations = 0
                if let folder = options.checkpointFolder {
                    try save(parameters, to: folder.appendingPathComponent("best"),
                             metadata: [name: String(format: "%.4f", value), "step": "\(progress.step)"])
                    extra += " (best, saved)"
                }
            } else {
                progress.staleValidations += 1
                if let patience = options.patience { extra += " (no gain \(progress.staleValidations)/\(patience))" }
            }
        }
        if let folder = options.checkpointFolder,
           progress.step % options.checkpointEvery == 0 || progress.step == options.steps || progress.patienceExhausted(options) {
            try save(parameters, to: folder, optimizer: optimizer.state,
                     metadata: progress.metadata.merging(TrainingProgress.settings(options)) { a, _ in a })
        }
        return extra
    }

    /// Supervised training on every meta-train example (the Dialogue and Dialogue+Persona systems).
    /// Validation: perplexity on the meta-valid personas' examples.
    public func trainSupervised(initial: Parameters, options: TrainingOptions) throws -> Parameters {
        var parameters = initial
        var optimizer = Adam(learningRate: options.learningRate)
        var progress = try resume(&parameters, &optimizer, options: options)
        let trainExamples = corpus.examples(in: .train)
        let validBatches = makeBatches(Array(corpus.examples(in: .valid).prefix(options.validationExamples)),
                                       batchSize: 64, shuffleSeed: nil)
        let epochBatches = (trainExamples.count + options.batchSize - 1) / options.batchSize
        var epochCache: (epoch: Int, batches: [Seq2SeqBatch]) = (-1, [])
        var reporter = ProgressReporter(label: config.system.rawValue, total: options.steps)
        print("training \(config.system.rawValue): \(trainExamples.count) examples, \(epochBatches) batches per epoch, "
              + "\(parameters.scalarCount) parameters")
        while progress.step < options.steps && !progress.patienceExhausted(options) {
            let epoch = progress.step / epochBatches
            if epochCache.epoch != epoch {
                epochCache = (epoch, makeBatches(trainExamples, batchSize: options.batchSize,
                                                 shuffleSeed: options.seed &+ UInt64(epoch)))
            }
            let batch = epochCache.batches[progress.step % epochBatches]
            var (loss, gradients) = model.lossAndGradient(at: parameters, batch: batch, training: true,
                                                          seed: options.seed &+ UInt64(progress.step))
            guard loss.isFinite else {
                throw TrainingError.nonFinite(what: "the training loss", step: progress.step + 1,
                                              hint: "lower --learning-rate; the last saved checkpoint is intact")
            }
            gradients.clipGlobalNorm(options.gradientClip)
            optimizer.update(&parameters, gradients: gradients)
            progress.step += 1
            let due = progress.step % options.validateEvery == 0 || progress.step == options.steps
            let validation = due ? ("validPerplexity", perplexity(model, parameters, batches: validBatches).ppl) : nil
            let extra = try bookkeeping(parameters, optimizer, &progress, options: options, validation: validation)
            reporter.update(step: progress.step, loss: loss, work: Double(batch.targetTokenCount), extra: extra)
        }
        if progress.patienceExhausted(options) {
            print("early stop at step \(progress.step): \(options.patience!) validations without a new best (best \(String(format: "%.4f", progress.bestValidation)))")
        }
        return parameters
    }

    /// Meta-training with MAML over meta-train personas (PAML). Each meta-iteration samples
    /// `maml.metaBatchSize` personas; a persona's shuffled dialogues are split into support (inner SGD:
    /// the first `supportDialogues`, or half when nil) and query (meta-loss: the rest). Validation: k-shot
    /// adapted perplexity on meta-valid personas for each k of `validation.shots`; the best checkpoint is
    /// the one with the lowest geometric mean over those k.
    public func trainPAML(initial: Parameters, maml mamlConfig: MAMLConfig, options: TrainingOptions,
                          validation: KShotProtocol, supportDialogues: Int? = nil) throws -> Parameters {
        var parameters = initial
        var optimizer = Adam(learningRate: mamlConfig.outerLearningRate)
        var progress = try resume(&parameters, &optimizer, options: options)
        let maml = MAML<Seq2SeqBatch>(config: mamlConfig) { [model] g, batch in model.loss(g, batch) }
        let personas = (corpus.personas[.train] ?? []).filter { $0.dialogues.count >= 2 }
        guard !personas.isEmpty else {
            throw ConfigError(field: "meta-train personas", value: "none with two or more dialogues", allowed: "at least one persona with two dialogues")
        }
        var reporter = ProgressReporter(label: "paml", total: options.steps)
        print("meta-training PAML (\(mamlConfig.metaGradient.rawValue)): \(personas.count) personas, "
              + "meta-batch \(mamlConfig.metaBatchSize), \(parameters.scalarCount) parameters")
        while progress.step < options.steps && !progress.patienceExhausted(options) {
            var rng = SeededGenerator(seed: options.seed &+ UInt64(progress.step) &* 1_000_003)
            let chosen = (0..<mamlConfig.metaBatchSize).map { _ in personas[Int(rng.next() % UInt64(personas.count))] }
            let tasks = chosen.map { persona -> MetaTask<Seq2SeqBatch> in
                let dialogues = persona.dialogues.shuffled(using: &rng)
                let supportCount = min(dialogues.count - 1, max(1, supportDialogues ?? dialogues.count / 2))
                func batch(_ sides: ArraySlice<[EncodedExample]>) -> Seq2SeqBatch {
                    let examples = Array(sides.joined().shuffled(using: &rng).prefix(options.batchSize))
                    return Seq2SeqBatch(sources: examples.map(\.source), responses: examples.map(\.response))
                }
                return MetaTask(support: [batch(dialogues[..<supportCount])], query: [batch(dialogues[supportCount...])])
            }
            let outcomes = maml.metaStep(&parameters, tasks: tasks, optimizer: &optimizer,
                                         seed: options.seed &+ UInt64(progress.step))
            progress.step += 1
            let meanQuery = outcomes.map(\.queryLossAfter).reduce(0, +) / Float(outcomes.count)
            guard meanQuery.isFinite, parameters.allFinite else {
                throw TrainingError.nonFinite(what: "the meta-training query loss or weights", step: progress.step,
                                              hint: "lower --inner-learning-rate or --outer-learning-rate; the last saved checkpoint is intact")
            }
            let tokens = tasks.reduce(0) { $0 + $1.support[0].targetTokenCount + $1.query[0].targetTokenCount }
            let due = progress.step % options.validateEvery == 0 || progress.step == options.steps
            var score: (name: String, value: Double)?
            if due {
                let results = try validation.shots.map {
                    try validation.evaluate(model: model, parameters: parameters, personas: corpus.personas[.valid] ?? [], k: $0)
                }
                let shown = results.map { "k=\($0.k) " + String(format: "%.2f", $0.perplexity) }.joined(separator: ", ")
                print("  meta-valid adapted perplexity: \(shown)")
                let meanLog = results.map { log($0.perplexity) }.reduce(0, +) / Double(results.count)
                let ks = validation.shots.map(String.init).joined(separator: "+")
                score = ("validAdapted\(ks)ShotPerplexity", exp(meanLog))
            }
            let extra = try bookkeeping(parameters, optimizer, &progress, options: options, validation: score)
            reporter.update(step: progress.step, loss: meanQuery, work: Double(tokens), extra: extra)
        }
        return parameters
    }
}

/// The k-shot protocol of PAML's evaluation: for each persona and each of its dialogues, adapt on the
/// first k of its other dialogues (SGD, `learningRate`, `steps` passes over the support batches) and score
/// the held-out dialogue. Personas with fewer than k + 1 dialogues are skipped (and counted). The
/// support set is always taken from the dialogues after the held-out one in the persona's (seeded)
/// order, wrapping around, so the k-shot sets are nested: the 3-shot set contains the 1-shot set.
public struct KShotProtocol: Sendable, ValidatedConfig {
    public var shots: [Int]
    public var steps: Int
    public var learningRate: Float
    public var batchSize: Int
    /// Global-norm clip of each adaptation gradient (0: none); the same for every system evaluated.
    public var gradientClip: Float
    /// At most this many personas (nil: all), to bound the cost.
    public var maxPersonas: Int?
    /// At most this many held-out dialogues per persona, the first ones (nil: every dialogue, as the paper).
    public var heldOutPerPersona: Int?

    public init(shots: [Int] = [0, 1, 3, 5, 10], steps: Int = 5, learningRate: Float = 0.01, batchSize: Int = 32,
                gradientClip: Float = 0, maxPersonas: Int? = nil, heldOutPerPersona: Int? = nil) {
        self.shots = shots
        self.gradientClip = gradientClip
        self.steps = steps
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.maxPersonas = maxPersonas
        self.heldOutPerPersona = heldOutPerPersona
    }

    /// Checks the adaptation settings (k values are checked against the personas when evaluating).
    public func validate() throws {
        guard !shots.isEmpty, shots.allSatisfy({ (0...1000).contains($0) }) else {
            throw ConfigError(field: "shots", value: "\(shots)", allowed: "one or more k in 0...1000")
        }
        try Check.within(steps, 0...10_000, "adaptSteps")
        try Check.finite(learningRate, "adaptLearningRate", from: 0, to: 10)
        try Check.within(batchSize, 1...65_536, "adaptBatchSize")
        try Check.finite(gradientClip, "adaptGradientClip", from: 0)
        if let maxPersonas { try Check.atLeast(maxPersonas, 1, "maxPersonas") }
        if let heldOutPerPersona { try Check.atLeast(heldOutPerPersona, 1, "heldOutPerPersona") }
    }

    public struct Result: Codable, Sendable {
        public var k: Int
        public var perplexity: Double
        public var negativeLogLikelihood: Double
        public var tokens: Int
        public var personas: Int
        public var heldOutDialogues: Int
        public var skippedPersonas: Int
    }

    /// Adapted weights for one support set (unchanged when it is empty). Throws `TrainingError.nonFinite`
    /// when a step's loss or gradient is not finite (a learning rate far too large), instead of returning
    /// weights that answer with empty lines.
    public func adapt(model: Seq2Seq, parameters: Parameters, support: [EncodedExample]) throws -> Parameters {
        guard !support.isEmpty, steps > 0 else { return parameters }
        let batches = makeBatches(support, batchSize: batchSize, shuffleSeed: nil)
        var adapted = parameters
        for step in 0..<steps {
            for batch in batches {
                var (loss, gradients) = model.lossAndGradient(at: adapted, batch: batch, training: false, seed: UInt64(step))
                guard loss.isFinite else {
                    throw TrainingError.nonFinite(what: "the adaptation loss", step: step + 1,
                                                  hint: "the adaptation learning rate \(learningRate) is too large")
                }
                if gradientClip > 0 { gradients.clipGlobalNorm(gradientClip) }
                adapted.addScaled(gradients, scale: -learningRate)
            }
        }
        guard adapted.allFinite else {
            throw TrainingError.nonFinite(what: "the adapted weights", step: steps,
                                          hint: "the adaptation learning rate \(learningRate) is too large")
        }
        return adapted
    }

    /// Perplexity over all held-out dialogues of `personas` after k-shot adaptation. `inspect` sees each
    /// adapted model with its persona and the index of the held-out dialogue (for generation metrics such as
    /// BLEU and consistency C).
    public func evaluate(model: Seq2Seq, parameters: Parameters, personas: [EncodedPersona], k: Int,
                         inspect: ((Parameters, EncodedPersona, Int) throws -> Void)? = nil) throws -> Result {
        var total = 0.0, count = 0, used = 0, heldOut = 0, skipped = 0
        for persona in personas.prefix(maxPersonas ?? personas.count) {
            guard persona.dialogues.count >= k + 1 else { skipped += 1; continue }
            used += 1
            for held in persona.dialogues.indices.prefix(heldOutPerPersona ?? persona.dialogues.count) {
                let n = persona.dialogues.count
                let others = (1..<n).map { persona.dialogues[(held + $0) % n] }
                let adapted = try adapt(model: model, parameters: parameters, support: Array(others.prefix(k).joined()))
                let batches = makeBatches(persona.dialogues[held], batchSize: 64, shuffleSeed: nil)
                let result = perplexity(model, adapted, batches: batches)
                try inspect?(adapted, persona, held)
                total += result.nll
                count += result.tokens
                heldOut += 1
            }
        }
        return Result(k: k, perplexity: count > 0 ? exp(total / Double(count)) : .nan, negativeLogLikelihood: total,
                      tokens: count, personas: used, heldOutDialogues: heldOut, skippedPersonas: skipped)
    }
}
