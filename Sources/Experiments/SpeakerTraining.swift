import Dialogue
import Foundation
import MetaLearning
import Metrics
import NN
import Recommender
import SpokenRecommender
import Tensor
import Text

/// Settings of `paml recommend train-speaker`: the persona dialogue model learns to say the recommender's actions
/// while it keeps its chit-chat; saved with its output.
public struct SpeakerTrainingConfig: Codable, Sendable {
    public var data: String
    /// The dialogue checkpoint the speaker starts from (the shipped PAML model).
    public var base: String
    /// Folder of the voice files (`train/`, `valid/`, `test/`, written by `paml recommend make-voices`).
    public var voices: String
    public var out: String
    /// Folder of the resumable run.
    public var work: String
    public var steps = 2_000
    public var batchSize = 32
    public var learningRate: Float = 3e-4
    public var seed: UInt64 = 1
    /// Sessions of the neutral voice (the mined action pairs) in training; held-out frames get a quarter as many.
    public var neutralSessions = 3_000
    /// Examples in each validation: `validationActionDialogues` held-out-frame conversations, the valid voices, then
    /// meta-valid chit-chat up to this many.
    public var validationExamples = 4_000
    public var validationActionDialogues = 100
    public var validateEvery = 250
    /// Random artist lists in the slot-accuracy check (every lastfm attribute is checked too).
    public var slotItems = 300
    /// Held-out conversations whose action lines are decoded for BLEU (beam search is the slow part).
    public var bleuDialogues = 150
    /// Meta-training stage (> 0: `base` must be a speaker): MAML meta-iterations over the training voices, the neutral
    /// voice and `metaChitchatPersonas` Persona-Chat personas as tasks (the release's PAML settings: 1 support + 1 query
    /// dialogue, inner SGD 0.01, outer Adam 3e-4); the best on k-shot adapted perplexity of the valid voices is kept.
    public var metaSteps = 0
    public var metaBatchSize = 8
    public var metaChitchatPersonas = 8
    public var metaValidateEvery = 25

    public init(data: String, base: String, voices: String, out: String, work: String) {
        (self.data, self.base, self.voices, self.out, self.work) = (data, base, voices, out, work)
    }

    public func validate() throws {
        try Check.within(steps, 1...1_000_000, "steps")
        try Check.within(batchSize, 1...4_096, "batchSize")
        try Check.finite(learningRate, "learningRate", from: 0, to: 1)
        try Check.within(neutralSessions, 1...100_000, "neutralSessions")
        try Check.within(validationExamples, 1...1_000_000, "validationExamples")
        try Check.within(validationActionDialogues, 1...1_000_000, "validationActionDialogues")
        try Check.within(validateEvery, 1...1_000_000, "validateEvery")
        try Check.within(slotItems, 0...100_000, "slotItems")
        try Check.within(metaSteps, 0...1_000_000, "metaSteps")
        try Check.within(metaBatchSize, 1...1_024, "metaBatchSize")
        try Check.within(metaChitchatPersonas, 0...100_000, "metaChitchatPersonas")
        try Check.within(metaValidateEvery, 1...1_000_000, "metaValidateEvery")
    }
}

/// What the speaker was measured to do (written into its card and `Evaluation/crs-language.md`).
public struct SpeakerMetrics: Codable, Sendable {
    /// Perplexity of meta-valid Persona-Chat responses (encoded with the base vocabulary, so both models see the
    /// same ids): the base model, then the speaker.
    public var chitchatBefore: Double
    public var chitchatAfter: Double
    public var chitchatTokens: Int
    /// Held-out action realisations (frames never trained on, in simulated conversations).
    public var heldOutPerplexity: Double
    public var heldOutAnswers: Int
    /// sacreBLEU (13a) of one beam realisation per held-out action line against its reference line (delexicalised).
    public var heldOutBLEU: Double
    public var bleuSignature: String
    /// Lines after a user answer whose acknowledgement is of the reference's kind (a yes-one after a yes, a no-one after a
    /// no, none when the reference has none): the speaker follows the answer it is told it got.
    public var acknowledgementAgreement: Double
    /// Slot-exact decoding over every lastfm attribute and `slotItems` artist lists, each in three conversations.
    public var slotAccuracy: Double
    public var slotSentences: Int
    public var fallbacks: Int
    public var addedWords: Int
    public var examples: [String]
}

/// Writes the voice files and trains the speaker.
public struct SpeakerTraining {
    public var config: SpeakerTrainingConfig
    public init(config: SpeakerTrainingConfig) { self.config = config }

    /// Dialogues per voice file by split: training voices give the meta-learner material; valid and test voices
    /// give 5 support + 15 held-out dialogues.
    public static let dialoguesPerVoice: [VoiceSpec.Split: Int] = [.train: 40, .valid: 20, .test: 20]

    /// Writes `<folder>/<split>/<name>.jsonl` for every spec (sessions with users of the same split) and checks that
    /// the line reader recovers every action from the names (throws when one is misread).
    public static func makeVoices(specs: [VoiceSpec], dataset: CRSDataset, folder: URL, seed: UInt64,
                                  commonWords: Set<String>, log: (String) -> Void) throws {
        let writer = VoiceWriter(dataset: dataset)
        let reader = ActionLineReader(dataset: dataset, commonWords: commonWords)
        for spec in specs {
            let users: [Int]
            switch spec.split {
            case .train: users = dataset.trainUsers
            case .valid: users = dataset.validUsers
            case .test: users = dataset.testUsers
            }
            let dialogues = writer.dialogues(spec, users: users, count: dialoguesPerVoice[spec.split]!, seed: seed)
            var answers = 0
            for dialogue in dialogues {
                for (pair, action) in zip(dialogue.pairs, dialogue.actions) {
                    let read = reader.read(pair.system).kind
                    guard read == action.map({ ActionKind.of($0, in: dataset) }) else {
                        throw TextError(file: "voice \(spec.name)", "the line reader reads \"\(pair.system)\" as \(read?.rawValue ?? "chit-chat")")
                    }
                    answers += 1
                }
            }
            let file = folder.appendingPathComponent(spec.split.rawValue).appendingPathComponent("\(spec.name).jsonl")
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((dialogues.map(\.jsonLine).joined(separator: "\n") + "\n").utf8).write(to: file, options: .atomic)
            log("\(file.path): \(dialogues.count) dialogues, \(answers) system answers (every action read back from its names)")
        }
    }

    /// The voice files of a split (sorted by name).
    public static func voiceFiles(_ folder: URL, split: VoiceSpec.Split) throws -> [URL] {
        let dir = folder.appendingPathComponent(split.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        guard !names.isEmpty else { throw TextError(file: dir.path, "no voice files (.jsonl); run paml recommend make-voices") }
        return names.map { dir.appendingPathComponent($0) }
    }

    /// The neutral voice: the mined action frames in simulated conversations, training frames with training users and
    /// held-out frames (never trained on) with validation users.
    func neutralConversations(root: CorpusRoot, crs: CRSDataset, log: (String) -> Void) throws -> (train: [VoiceDialogue], heldOut: [VoiceDialogue]) {
        let (trainPairs, heldOutPairs, stats) = ActionPairMiner(seed: 1).pairs(utterances: try ActionPairMiner.utterances(root: root))
        log("action pairs: \(stats)")
        let writer = VoiceWriter(dataset: crs, maxTurns: 10)
        let train = writer.dialogues(VoiceSpec.neutral(trainPairs, name: "neutral", split: .train), users: crs.trainUsers,
                                     count: config.neutralSessions, seed: config.seed)
        let heldOut = writer.dialogues(VoiceSpec.neutral(heldOutPairs, name: "neutral-held-out", split: .valid),
                                       users: crs.validUsers, count: max(1, config.neutralSessions / 4), seed: config.seed &+ 1)
        return (train, heldOut)
    }

    /// Trains (resuming the run in `work`), saves the speaker to `out` and measures it.
    public func run(log: (String) -> Void) throws -> SpeakerMetrics {
        try config.validate()
        if config.metaSteps > 0 { return try runMeta(log: log) }
        let root = CorpusRoot(explicit: config.data)
        let base = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.base))
        let crs = try CRSDataset.load(directory: root.file("crs/lastfm"))
        let meta = try PersonaMetaDataset.load(root: root, seed: base.config.dataSeed).dataset
        let voices = URL(fileURLWithPath: config.voices)

        let (neutralTrain, neutralHeldOut) = try neutralConversations(root: root, crs: crs, log: log)
        let trainVoices = try Self.voiceFiles(voices, split: .train).map { try PersonaDialogueFile(url: $0) }
        let validVoices = try Self.voiceFiles(voices, split: .valid).map { try PersonaDialogueFile(url: $0) }

        // New words: the prompt and placeholders, and words of the training material the dialogue vocabulary lacks
        // (seen twice or more), with GloVe rows (random rows for the prompt words).
        let tokenizer = Tokenizer()
        var counts: [String: Int] = [:]
        for dialogue in neutralTrain { for pair in dialogue.pairs { for t in tokenizer.tokenize(pair.user + " " + pair.system) { counts[t, default: 0] += 1 } } }
        for file in trainVoices { for example in file.examples { for t in tokenizer.tokenize(example.response) { counts[t, default: 0] += 1 } } }
        let reader = ActionLineReader(dataset: crs, commonWords: ActionRealiser.commonWords(base.vocabulary))
        let names = Set((0..<crs.itemCount).flatMap { tokenizer.tokenize(crs.itemLabel($0)) })
        let added = SpeakerPrompt.words + counts.filter { $0.value >= 2 && !base.vocabulary.contains($0.key) && !names.contains($0.key)
            && !SpeakerPrompt.words.contains($0.key) }.keys.sorted()
        let glove = try GloVe.load(directory: root.file("glove"))
        let scratch = try Vocabulary(words: added)
        let (matrix, _) = glove.embeddingMatrix(for: scratch, seed: config.seed)     // [4 + n, E]
        let width = base.config.model.embeddingWidth
        let rows = Tensor(shape: [added.count, width], scalars: Array(matrix.scalars[(Vocabulary.specials.count * width)...]))
        var start = try base.addingWords(added, rows: rows)
        start.metadata = [SpeakerPrompt.metadataKey: SpeakerPrompt.metadataValue]
        log("vocabulary \(base.vocabulary.count) -> \(start.vocabulary.count) words (+\(added.count): \(added.prefix(12).joined(separator: " ")) ...)")

        let encoder = ExampleEncoder(vocabulary: start.vocabulary, format: start.config.format)
        let speakerExamples = SpeakerExamples(encoder: encoder, reader: reader)
        func persona(_ id: String, _ dialogues: [[EncodedExample]]) -> EncodedPersona { EncodedPersona(id: id, dialogues: dialogues) }
        let chitchat = PersonaCorpus(dataset: meta, encoder: encoder)
        let heldOutDialogues = speakerExamples.dialogues(neutralHeldOut)
        let corpus = PersonaCorpus(encoder: encoder, personas: [
            .train: (chitchat.personas[.train] ?? []) + [persona("voice:neutral", speakerExamples.dialogues(neutralTrain))]
                + trainVoices.enumerated().map { persona("voice:train-\($0.offset)", speakerExamples.dialogues($0.element)) },
            // Validation (the first `validationExamples`): unseen frames, the valid voices, then chit-chat, so the kept
            // model is chosen on both jobs.
            .valid: [persona("voice:neutral-held-out", Array(heldOutDialogues.prefix(config.validationActionDialogues)))]
                + validVoices.enumerated().map { persona("voice:valid-\($0.offset)", speakerExamples.dialogues($0.element)) }
                + (chitchat.personas[.valid] ?? []),
        ])
        let trainer = DialogueTrainer(config: start.config, corpus: corpus)
        let work = URL(fileURLWithPath: config.work)
        let options = TrainingOptions(steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, seed: config.seed,
                                      validateEvery: config.validateEvery, checkpointEvery: config.validateEvery, checkpointFolder: work,
                                      validationExamples: config.validationExamples)
        try options.validate()
        _ = try trainer.trainSupervised(initial: start.parameters, options: options)
        var speaker = try DialogueCheckpoint(folder: work.appendingPathComponent("best"))
        speaker.metadata[SpeakerPrompt.metadataKey] = SpeakerPrompt.metadataValue

        let metrics = try measure(base: base, speaker: speaker, meta: meta, heldOut: neutralHeldOut, crs: crs, addedWords: added.count, log: log)
        var metadata = speaker.metadata
        metadata["speaker.base"] = config.base
        metadata["speaker.chitchatPerplexity"] = String(format: "%.3f -> %.3f", metrics.chitchatBefore, metrics.chitchatAfter)
        metadata["speaker.heldOutBLEU"] = String(format: "%.2f", metrics.heldOutBLEU)
        metadata["speaker.slotAccuracy"] = String(format: "%.4f", metrics.slotAccuracy)
        try DialogueCheckpoint(config: speaker.config, parameters: speaker.parameters, vocabulary: speaker.vocabulary, metadata: metadata)
            .save(to: URL(fileURLWithPath: config.out))
        return metrics
    }

    /// The kind of acknowledgement a delexicalised line opens with (`ActionPairMiner.acknowledgements`), start for none.
    static func acknowledgement(_ tokens: [String]) -> AnswerContext {
        let text = tokens.joined(separator: " ") + " "
        for context in [AnswerContext.yes, .no] where ActionPairMiner.acknowledgements[context]!.contains(where: { text.hasPrefix($0 + " ") }) {
            return context
        }
        return .start
    }

    /// The meta-training stage: PAML over voices (tasks) from a trained speaker; measured like the speaker.
    func runMeta(log: (String) -> Void) throws -> SpeakerMetrics {
        let root = CorpusRoot(explicit: config.data)
        let base = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.base))
        guard base.metadata[SpeakerPrompt.metadataKey] == SpeakerPrompt.metadataValue else {
            throw TextError(file: config.base, "--meta-steps meta-trains a speaker: --base must be one (paml recommend train-speaker)")
        }
        let crs = try CRSDataset.load(directory: root.file("crs/lastfm"))
        let meta = try PersonaMetaDataset.load(root: root, seed: base.config.dataSeed).dataset
        let voices = URL(fileURLWithPath: config.voices)
        let encoder = ExampleEncoder(vocabulary: base.vocabulary, format: base.config.format)
        let examples = SpeakerExamples(encoder: encoder, reader: ActionLineReader(dataset: crs, commonWords: ActionRealiser.commonWords(base.vocabulary)))
        let (neutral, neutralHeldOut) = try neutralConversations(root: root, crs: crs, log: log)
        var rng = SeededGenerator(seed: config.seed)
        let chitchat = PersonaCorpus(dataset: meta, encoder: encoder).personas[.train] ?? []
        let sampled = chitchat.shuffled(using: &rng).prefix(config.metaChitchatPersonas)
        let tasks = try Self.voiceFiles(voices, split: .train).map { EncodedPersona(id: $0.lastPathComponent, dialogues: examples.dialogues(try PersonaDialogueFile(url: $0))) }
            + [EncodedPersona(id: "voice:neutral", dialogues: examples.dialogues(neutral))] + sampled
        let valid = try Self.voiceFiles(voices, split: .valid).map { EncodedPersona(id: $0.lastPathComponent, dialogues: examples.dialogues(try PersonaDialogueFile(url: $0))) }
        log("meta-training over \(tasks.count) tasks (\(tasks.count - sampled.count) voices, \(sampled.count) Persona-Chat personas); validation: \(valid.count) valid voices")
        var modelConfig = base.config
        modelConfig.system = .paml
        let trainer = DialogueTrainer(config: modelConfig, corpus: PersonaCorpus(encoder: encoder, personas: [.train: tasks, .valid: valid]))
        var maml = MAMLConfig()
        maml.metaBatchSize = config.metaBatchSize
        let work = URL(fileURLWithPath: config.work)
        let options = TrainingOptions(steps: config.metaSteps, batchSize: config.batchSize, learningRate: maml.outerLearningRate, seed: config.seed,
                                      validateEvery: config.metaValidateEvery, checkpointEvery: config.metaValidateEvery,
                                      checkpointFolder: work, validationExamples: 1)
        try options.validate()
        let validation = KShotProtocol(shots: [3], steps: 10, learningRate: 0.01, batchSize: 16)
        _ = try trainer.trainPAML(initial: base.parameters, maml: maml, options: options, validation: validation,
                                  supportDialogues: 1, queryDialogues: 1)
        var speaker = try DialogueCheckpoint(folder: work.appendingPathComponent("best"))
        speaker.metadata[SpeakerPrompt.metadataKey] = SpeakerPrompt.metadataValue
        let metrics = try measure(base: base, speaker: speaker, meta: meta, heldOut: neutralHeldOut, crs: crs, addedWords: 0, log: log)
        var metadata = speaker.metadata
        metadata["speaker.base"] = config.base
        metadata["speaker.metaTrained"] = "MAML over \(tasks.count) tasks, best of \(config.metaSteps) meta-iterations on valid voices"
        metadata["speaker.chitchatPerplexity"] = String(format: "%.3f -> %.3f", metrics.chitchatBefore, metrics.chitchatAfter)
        try DialogueCheckpoint(config: speaker.config, parameters: speaker.parameters, vocabulary: speaker.vocabulary, metadata: metadata)
            .save(to: URL(fileURLWithPath: config.out))
        return metrics
    }

    /// Chit-chat perplexity before and after, held-out action perplexity and BLEU, and slot accuracy.
    public func measure(base: DialogueCheckpoint, speaker: DialogueCheckpoint, meta: PersonaMetaDataset, heldOut: [VoiceDialogue],
                        crs: CRSDataset, addedWords: Int, log: (String) -> Void) throws -> SpeakerMetrics {
        // Chit-chat: meta-valid examples with the base vocabulary; the speaker's vocabulary extends it, so ids agree.
        let baseEncoder = ExampleEncoder(vocabulary: base.vocabulary, format: base.config.format)
        let validBatches = makeBatches(PersonaCorpus(dataset: meta, encoder: baseEncoder).examples(in: .valid), batchSize: 64, shuffleSeed: nil)
        let before = perplexity(base.model, base.parameters, batches: validBatches)
        let after = perplexity(speaker.model, speaker.parameters, batches: validBatches)
        log(String(format: "chit-chat perplexity on meta-valid (%d tokens): %.3f before, %.3f after", before.tokens, before.ppl, after.ppl))

        let encoder = ExampleEncoder(vocabulary: speaker.vocabulary, format: speaker.config.format)
        let reader = ActionLineReader(dataset: crs, commonWords: ActionRealiser.commonWords(base.vocabulary))
        let examples = SpeakerExamples(encoder: encoder, reader: reader)
        let heldOutExamples = examples.dialogues(heldOut).flatMap { $0 }
        let heldOutPPL = perplexity(speaker.model, speaker.parameters, batches: makeBatches(heldOutExamples, batchSize: 64, shuffleSeed: nil))

        var realiser = ActionRealiser(model: speaker.model, parameters: speaker.parameters, vocabulary: speaker.vocabulary,
                                      format: speaker.config.format, strategy: .beam(size: 5), readsConversation: true)
        let bleu = BLEU()
        var stats = BLEUStatistics()
        var shown: [String] = []
        var acknowledged = 0, acknowledgements = 0
        for dialogue in heldOut.prefix(config.bleuDialogues) {
            var history: [String] = []
            for pair in dialogue.pairs {
                history.append(pair.user)
                defer { history.append(pair.system) }
                let (kind, reference, _) = reader.read(pair.system)
                guard let kind else { continue }
                let said = realiser.decode(kind, context: SpeakerPrompt.context(history: history), history: history, seed: 0)
                stats += bleu.statistics(hypothesis: said.joined(separator: " "), references: [reference.joined(separator: " ")])
                if history.count > 1 {
                    acknowledged += Self.acknowledgement(said) == Self.acknowledgement(reference) ? 1 : 0
                    acknowledgements += 1
                }
                if shown.count < 8 { shown.append("\(history.last!) -> \(said.joined(separator: " "))   [reference: \(reference.joined(separator: " "))]") }
            }
        }
        let heldOutBLEU = bleu.score(stats).score
        let agreement = Double(acknowledged) / Double(max(acknowledgements, 1))
        log(String(format: "held-out actions: perplexity %.2f (%d answers), BLEU %.2f; acknowledgement agrees with the reference's in %.3f of %d lines",
                    heldOutPPL.ppl, heldOutExamples.count, heldOutBLEU, agreement, acknowledgements))

        // Slot accuracy: every attribute and `slotItems` random 3-artist lists, after three different answers.
        realiser.strategy = .topK(k: 3, temperature: 0.5)
        var rng = SeededGenerator(seed: config.seed)
        var actions = (0..<crs.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<config.slotItems { actions.append(.recommend(items: (0..<3).map { _ in Int(rng.next() % UInt64(crs.itemCount)) })) }
        var correct = 0, fallbacks = 0, total = 0
        for (i, action) in actions.enumerated() {
            for (j, context) in AnswerContext.allCases.enumerated() {
                let r = realiser.realise(action, context: context, history: context.exampleHistory, dataset: crs, seed: UInt64(i * 3 + j))
                correct += r.slotCorrect ? 1 : 0
                fallbacks += r.usedFallback ? 1 : 0
                total += 1
            }
        }
        log(String(format: "slot accuracy %.4f over %d sentences, %d template fallbacks", Double(correct) / Double(total), total, fallbacks))
        return SpeakerMetrics(chitchatBefore: before.ppl, chitchatAfter: after.ppl, chitchatTokens: before.tokens,
                              heldOutPerplexity: heldOutPPL.ppl, heldOutAnswers: heldOutExamples.count, heldOutBLEU: heldOutBLEU,
                              bleuSignature: bleu.signature(referenceCount: 1), acknowledgementAgreement: agreement, slotAccuracy: Double(correct) / Double(total),
                              slotSentences: total, fallbacks: fallbacks, addedWords: addedWords, examples: shown)
    }
}
