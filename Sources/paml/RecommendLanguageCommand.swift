import ArgumentParser
import Autograd
import Dialogue
import Evaluators
import Foundation
import MetaLearning
import NN
import Recommender
import Tensor
import Text

// The recommender in words: `paml recommend train-language | render | read-replies | interactive` and the
// options `paml recommend simulate --language` shares. Training and style adaptation (MetaLearning) are
// orchestrated here because Recommender does not depend on MetaLearning.

/// How system sentences are produced and replies read.
struct SpeechOptions: ParsableArguments {
    @Option(help: "Action-language model (from `paml recommend train-language`); `templates` = fixed templates.")
    var languageCheckpoint = "Checkpoints/crs-language"
    @Option(help: "Style examples (ask|recommend TAB name TAB sentence lines): the model adapts to them first (PAML inner-loop SGD).")
    var style: String?
    @Option(help: "Style adaptation: SGD passes over the style examples.") var styleSteps = 10
    @Option(help: "Style adaptation: SGD learning rate.") var styleLr: Float = 0.03
    @Option(help: "Decoding of system sentences: top-k (varied), greedy or beam.") var speechDecoding = "top-k"
    @Option(help: "k of top-k sampling of system sentences.") var speechTopK = 3
    @Option(help: "Temperature of top-k sampling of system sentences.") var speechTemperature: Float = 0.5
    @Flag(help: "Read replies with the rules only (no NLI model for unclear replies).") var rulesOnly = false
    @Option(help: "NLI checkpoint that reads replies the rules leave unclear.") var nliCheckpoint = "Checkpoints/nli"
    @Option(help: "all-MiniLM-L6-v2 model folder (the NLI model's frozen blocks). Default: $PAML_MINILM_DIR or the pip package.")
    var minilm: String?

    func validate() throws {
        guard ["top-k", "greedy", "beam"].contains(speechDecoding) else {
            throw ValidationError("--speech-decoding must be top-k, greedy or beam (got \(speechDecoding))")
        }
        try OptionCheck.within(styleSteps, 0...1000, "--style-steps")
        try OptionCheck.finite(styleLr, "--style-lr", from: 0, to: 10)
        try OptionCheck.within(speechTopK, 1...1000, "--speech-top-k")
        try OptionCheck.positive(speechTemperature, "--speech-temperature", upTo: 100)
    }

    var strategy: DecodingStrategy {
        switch speechDecoding {
        case "greedy": return .greedy
        case "beam": return .beam(size: 4)
        default: return .topK(k: speechTopK, temperature: speechTemperature)
        }
    }

    /// The realiser (nil for `templates`), adapted to the style file when one is given.
    func realiser(log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> ActionRealiser? {
        guard languageCheckpoint != "templates" else { return nil }
        setBLASThreads(2)
        let loaded = try LoadedDialogueModel(folder: languageCheckpoint)   // resolves shipped defaults
        var parameters = loaded.parameters
        if let style {
            let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
            let pairs = try ActionPairMiner.styleExamples(URL(fileURLWithPath: style))
            guard !pairs.isEmpty else { throw ValidationError("\(style): no style examples") }
            let start = Date()
            parameters = try KShotProtocol(steps: styleSteps, learningRate: styleLr)
                .adapt(model: loaded.model, parameters: parameters, support: pairs.map { $0.encoded(with: encoder) })
            log("adapted to \(pairs.count / AnswerContext.allCases.count) style examples of \(style) in "
                + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
        return ActionRealiser(model: loaded.model, parameters: parameters, vocabulary: loaded.vocabulary,
                              format: loaded.config.format, strategy: strategy)
    }

    /// The reply reader: rules, plus NLI when the checkpoint and MiniLM are found (else rules only, said on stderr).
    func reader(log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> ReplyReader {
        if rulesOnly { return ReplyReader() }
        let nliFolder = resolvedInput(nliCheckpoint)
        guard FileManager.default.fileExists(atPath: nliFolder.appendingPathComponent("config.json").path),
              let pretrained = minilm.map({ URL(fileURLWithPath: $0) }) ?? MiniLMLocation.find() else {
            log("reply reader: rules only (NLI checkpoint \(nliCheckpoint) or all-MiniLM-L6-v2 not found)")
            return ReplyReader()
        }
        return ReplyReader(nli: try NLIModel(checkpoint: nliFolder, pretrained: pretrained))
    }
}

/// Loads a CRS dataset and its simulator with the popularity candidate order.
func loadSimulator(_ data: DataOptions, dataset: String, maxTurns: Int) throws -> UserSimulator {
    let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/\(dataset)"))
    return UserSimulator(dataset: d, source: .sampled, maxTurns: maxTurns,
                         itemOrder: d.popularityOrder(users: d.trainUsers))
}

/// `paml recommend train-language`: mine action -> sentence pairs, train the action-language Seq2Seq, measure it.
struct RecommendTrainLanguage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-language",
        abstract: "Train the model that says CRS actions in words (pairs mined from Persona-Chat + templates).",
        discussion: """
        Pairs: delexicalised actions ("no ask genre xattr") -> sentences mined from ConvAI2 valid and \
        Synthetic-Persona-Chat ("do you like xattr music ?", "you should check out xitem !") plus templates; \
        10% of frames held out. The Seq2Seq (GloVe-initialised) trains on them; the best model on held-out \
        perplexity goes to --out with metrics.json (held-out PPL, BLEU, slot accuracy on lastfm names).
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Folder of the finished model (Checkpoints/crs-language needs --force).") var out = "runs/crs-language/model"
    @OptionGroup var output: OutputOptions
    @Option(help: "Folder of the resumable training run.") var work = "runs/crs-language/run"
    @Option(help: "Seed of the pair mining, held-out split and acknowledgements.") var dataSeed: UInt64 = 1
    @Option(help: "Training steps.") var steps = 800
    @Option(help: "Pairs per batch.") var batchSize = 32
    @Option(help: "Adam learning rate.") var learningRate: Float = 1e-3
    @Option(help: "Training seed.") var seed: UInt64 = 1
    @Option(help: "Transformer layers.") var layers = 2
    @Option(help: "Model width.") var width = 128
    @Option(help: "Least count of a Persona-Chat word to enter the vocabulary (pair words always do).") var minCount = 5
    @Option(help: "Artists sampled for the slot-accuracy measurement.") var slotItems = 200
    @Flag(help: "Only mine the pairs and print statistics and every frame.") var pairsOnly = false
    @Flag(help: "Do not train: measure the model in --out on the held-out pairs and rewrite its metrics.json.")
    var measureOnly = false

    func validate() throws {
        _ = try output.writable(out)
        _ = try output.writable(work, option: "--work")
        try OptionCheck.within(steps, 1...10_000_000, "--steps")
        try OptionCheck.within(batchSize, 1...65_536, "--batch-size")
        try OptionCheck.positive(learningRate, "--learning-rate", upTo: 10)
        try OptionCheck.within(layers, 1...48, "--layers")
        try checked("--width") { try Check.within(width, 4...8192, "--width") }
        guard width % 4 == 0 else { throw ValidationError("--width \(width): must be a multiple of the 4 attention heads") }
        try OptionCheck.within(minCount, 1...1_000_000_000, "--min-count")
        try OptionCheck.within(slotItems, 1...100_000, "--slot-items")
    }

    func run() throws {
        setBLASThreads(2)
        let utterances = try ActionPairMiner.utterances(root: data.corpusRoot)
        let miner = ActionPairMiner(seed: dataSeed)
        let (train, heldOut, stats) = miner.pairs(utterances: utterances)
        print("pairs: \(stats)")
        let frames = Dictionary(grouping: train + heldOut, by: \.frame)
        for frame in frames.keys.sorted().prefix(pairsOnly ? frames.count : 6) {
            print("  \(frames[frame]![0].origin) frame: \(frame)  (\(frames[frame]!.count) pairs)")
        }
        if pairsOnly { return }
        let outFolder = try output.writable(out)
        let lock = try FolderLock(outFolder)
        defer { withExtendedLifetime(lock) {} }
        if measureOnly {
            try writeMetrics(of: try LoadedDialogueModel(folder: out), heldOut: heldOut)
            return
        }

        let tokenizer = Tokenizer()
        var counts: [String: Int] = [:]
        for utterance in utterances { for t in tokenizer.tokenize(utterance) { counts[t, default: 0] += 1 } }
        counts = counts.filter { $0.value >= minCount }
        for pair in train + heldOut {
            for t in (pair.source + " " + pair.target).split(separator: " ") { counts[String(t), default: 0] += minCount }
        }
        let vocabulary = Vocabulary(counts: counts, minCount: minCount)
        let format = DialogueFormat(includesPersona: false, maxHistoryTurns: 1, maxSourceTokens: 16, maxResponseTokens: 30)
        let model = Seq2SeqConfig(
            vocabularySize: vocabulary.count, embeddingWidth: 50,
            transformer: TransformerConfig(layers: layers, width: width, heads: 4, keyDepth: width, valueDepth: width,
                                           filterSize: 2 * width, inputDropout: 0.1, layerDropout: 0.1,
                                           attentionDropout: 0, reluDropout: 0.1),
            labelSmoothing: 0.1)
        let config = DialogueModelConfig(system: .dialogue, model: model, format: format, dataSeed: dataSeed)
        let encoder = ExampleEncoder(vocabulary: vocabulary, format: format)
        let trainExamples = train.map { $0.encoded(with: encoder) }
        let heldOutExamples = heldOut.map { $0.encoded(with: encoder) }
        let corpus = PersonaCorpus(encoder: encoder, personas: [
            .train: [EncodedPersona(id: "action-pairs-train", dialogues: [trainExamples])],
            .valid: [EncodedPersona(id: "action-pairs-held-out", dialogues: [heldOutExamples])],
        ])
        let trainer = DialogueTrainer(config: config, corpus: corpus)
        let glove = try GloVe.load(directory: data.corpusRoot.file("glove"))
        let (matrix, coverage) = glove.embeddingMatrix(for: vocabulary, seed: seed)
        print(String(format: "vocabulary %d words, GloVe covers %.1f%% of types", vocabulary.count, coverage.typeFraction * 100))
        let options = TrainingOptions(steps: steps, batchSize: batchSize, learningRate: learningRate, seed: seed,
                                      validateEvery: 100, checkpointEvery: 250, checkpointFolder: URL(fileURLWithPath: work),
                                      validationExamples: heldOutExamples.count)
        _ = try trainer.trainSupervised(initial: trainer.model.initialParameters(seed: seed, pretrained: matrix), options: options)

        let best = try LoadedDialogueModel(folder: work + "/best")
        try trainer.save(best.parameters, to: URL(fileURLWithPath: out), metadata: ["pairs": stats.description])
        try writeMetrics(of: best, heldOut: heldOut)
    }

    func writeMetrics(of model: LoadedDialogueModel, heldOut: [ActionPair]) throws {
        let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/lastfm"))
        let metrics = LanguageMetrics.measure(model, heldOut: heldOut, dataset: d, slotItems: slotItems, seed: seed)
        print(metrics.summary)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(metrics).write(to: URL(fileURLWithPath: out).appendingPathComponent("metrics.json"), options: .atomic)
        print("saved \(out) (model, vocab.txt, metrics.json)")
    }
}

/// Held-out perplexity, BLEU and slot accuracy of an action-language model.
struct LanguageMetrics: Codable {
    var heldOutPerplexity: Double
    var heldOutPairs: Int
    /// Corpus BLEU (sacreBLEU 13a) of one sampled (top-k) / greedy sentence per held-out pair against every
    /// held-out target of the same source (multi-reference).
    var bleuSampled: Double
    var bleuGreedy: Double
    /// Fraction of single sentences (one top-k sample / greedy, no resampling) that carry the right names.
    var slotAccuracySampled: Double
    var slotAccuracyGreedy: Double
    /// Fraction of single top-k samples that are usable (right slot, no UNK, no stutter).
    var usableSampled: Double
    /// Fraction of realisations (up to 5 samples) that fell back to a template.
    var fallbackRate: Double
    var slotSentences: Int
    var examples: [String]

    var summary: String {
        String(format: "held-out PPL %.2f (%d pairs); BLEU sampled %.2f, greedy %.2f; slot accuracy sampled %.4f, greedy %.4f; "
               + "usable samples %.4f; template fallback %.4f (%d sentences each)",
               heldOutPerplexity, heldOutPairs, bleuSampled, bleuGreedy, slotAccuracySampled, slotAccuracyGreedy,
               usableSampled, fallbackRate, slotSentences)
    }

    static func measure(_ loaded: LoadedDialogueModel, heldOut: [ActionPair], dataset: CRSDataset, slotItems: Int,
                        seed: UInt64) -> LanguageMetrics {
        let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
        let batches = makeBatches(heldOut.map { $0.encoded(with: encoder) }, batchSize: 64, shuffleSeed: nil)
        let ppl = perplexity(loaded.model, loaded.parameters, batches: batches).ppl
        let sampler = ActionRealiser(model: loaded.model, parameters: loaded.parameters, vocabulary: loaded.vocabulary,
                                     format: loaded.config.format)
        var greedy = sampler
        greedy.strategy = .greedy
        // BLEU: references = all held-out targets with the pair's source.
        let bySource = Dictionary(grouping: heldOut, by: \.source)
        let streams = bySource.values.map(\.count).max() ?? 0
        var sampled: [String] = [], greedyOut: [String] = []
        var references = [[String?]](repeating: [], count: streams)
        for (i, pair) in heldOut.enumerated() {
            sampled.append(sampler.decode(pair.kind, context: pair.context, seed: UInt64(i)).joined(separator: " "))
            greedyOut.append(greedy.decode(pair.kind, context: pair.context, seed: 0).joined(separator: " "))
            let refs = bySource[pair.source]!.map(\.target)
            for s in 0..<streams { references[s].append(s < refs.count ? refs[s] : nil) }
        }
        let bleu = BLEU()
        // Slot accuracy: every attribute and `slotItems` artist lists (3 named items) in every context.
        var rng = SeededGenerator(seed: seed)
        let named = (0..<dataset.itemCount).filter { dataset.itemNames?[$0] != nil }
        var actions = (0..<dataset.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<slotItems {
            actions.append(.recommend(items: (0..<3).map { _ in named[Int(rng.next() % UInt64(named.count))] }))
        }
        var single = sampler
        single.attempts = 1
        var correctSampled = 0, correctGreedy = 0, usable = 0, fallbacks = 0, total = 0
        var examples: [String] = []
        for (i, action) in actions.enumerated() {
            for context in AnswerContext.allCases {
                let one = single.realise(action, context: context, dataset: dataset, seed: UInt64(i))
                let s = sampler.realise(action, context: context, dataset: dataset, seed: UInt64(i))
                let g = greedy.realise(action, context: context, dataset: dataset, seed: 0)
                let slotOK = SlotFiller.isWellFormed(one.decoded, kind: ActionKind.of(action, in: dataset))
                    && SlotFiller.carriesNames(SlotFiller.fill(one.decoded, text: SlotFiller.slotText(action, dataset: dataset)),
                                               SlotFiller.requiredNames(action, dataset: dataset))
                correctSampled += slotOK ? 1 : 0
                usable += one.usedFallback ? 0 : 1
                fallbacks += s.usedFallback ? 1 : 0
                correctGreedy += g.slotCorrect ? 1 : 0
                total += 1
                if i % 11 == 0 && examples.count < 24 { examples.append("\(context.rawValue): \(s.text)") }
            }
        }
        return LanguageMetrics(
            heldOutPerplexity: ppl, heldOutPairs: heldOut.count,
            bleuSampled: bleu.corpusScore(hypotheses: sampled, references: references).score,
            bleuGreedy: bleu.corpusScore(hypotheses: greedyOut, references: references).score,
            slotAccuracySampled: Double(correctSampled) / Double(max(total, 1)),
            slotAccuracyGreedy: Double(correctGreedy) / Double(max(total, 1)),
            usableSampled: Double(usable) / Double(max(total, 1)), fallbackRate: Double(fallbacks) / Double(max(total, 1)),
            slotSentences: total, examples: examples)
    }
}

/// `paml recommend render`: sentences for sample actions, before and after style adaptation.
struct RecommendRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Say sample CRS actions in words (lastfm names); with --style, before and after style adaptation."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Option(help: "Comma-separated attribute names to ask about.") var attributes = "rock,90s,jazz,singer-songwriter"
    @Option(help: "Comma-separated item ids to recommend (one list).") var items = "0,1,2"
    @Option(help: "Sentences per action and context (1...100).") var samples = 1
    @Option(help: "Seed of the first sample.") var seed: UInt64 = 0

    func validate() throws { try OptionCheck.within(samples, 1...100, "--samples") }

    func run() throws {
        let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/lastfm"))
        var actions: [CRSAction] = []
        for name in attributes.split(separator: ",") {
            guard let a = d.attributeNames?.firstIndex(of: String(name)) else {
                throw ValidationError("--attributes: no lastfm attribute named \(name)")
            }
            actions.append(.ask(attribute: a))
        }
        let list = items.split(separator: ",").compactMap { Int($0) }
        guard !list.isEmpty, list.allSatisfy({ $0 >= 0 && $0 < d.itemCount }) else {
            throw ValidationError("--items: comma-separated item ids in 0..<\(d.itemCount)")
        }
        actions.append(.recommend(items: list))
        var plain = speech
        plain.style = nil
        let systems: [(String, ActionRealiser?)] = speech.style == nil
            ? [("model", try plain.realiser())]
            : [("before", try plain.realiser()), ("after", try speech.realiser())]
        for action in actions {
            for context in AnswerContext.allCases {
                for (label, realiser) in systems {
                    for s in 0..<UInt64(samples) {
                        let text = realiser.map { $0.realise(action, context: context, dataset: d, seed: seed &+ s).text }
                            ?? SpokenRecommender.templateSentence(action, dataset: d)
                        print("\(label)\t\(context.rawValue)\t\(text)")
                    }
                }
            }
        }
        if let style = speech.style { try measureStyle(systems, style: style, dataset: d) }
    }

    /// How far adaptation moved the sentences toward the style examples: corpus BLEU of the delexicalised
    /// sentences for every attribute and 30 artist lists (× 3 contexts) against the style examples of the same
    /// kind (multi-reference), how varied they are, and how many were usable / fell back to the template.
    func measureStyle(_ systems: [(String, ActionRealiser?)], style: String, dataset d: CRSDataset) throws {
        let pairs = try ActionPairMiner.styleExamples(URL(fileURLWithPath: style)).filter { $0.context == .start }
        var rng = SeededGenerator(seed: seed)
        var actions = (0..<d.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<30 { actions.append(.recommend(items: (0..<3).map { _ in Int(rng.next() % UInt64(d.itemCount)) })) }
        for (label, realiser) in systems {
            guard let realiser else { continue }
            var hypotheses: [String] = []
            var referenceLists: [[String]] = []
            var usable = 0, fallbacks = 0
            for (i, action) in actions.enumerated() {
                let kind = ActionKind.of(action, in: d)
                let refs = pairs.filter { $0.kind == kind || ($0.kind != .recommend && kind != .recommend) }.map(\.target)
                for context in AnswerContext.allCases {
                    let r = realiser.realise(action, context: context, dataset: d, seed: seed &+ UInt64(i))
                    hypotheses.append((r.usedFallback ? [] : r.decoded).joined(separator: " "))
                    referenceLists.append(refs)
                    usable += r.usedFallback ? 0 : 1
                    fallbacks += r.usedFallback ? 1 : 0
                }
            }
            let streams = referenceLists.map(\.count).max() ?? 0
            let references = (0..<streams).map { s in referenceLists.map { s < $0.count ? $0[s] : nil } }
            let bleu = BLEU().corpusScore(hypotheses: hypotheses, references: references).score
            print(String(format: "%@: BLEU to the style examples %.2f; %d distinct delexicalised sentences; "
                         + "model sentences %d, template fallbacks %d (of %d)",
                         label, bleu, Set(hypotheses).count, usable, fallbacks, hypotheses.count))
        }
    }
}

/// `paml recommend read-replies`: accuracy of the reply reader on a labelled set.
struct RecommendReadReplies: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read-replies",
        abstract: "Measure the reply reader (rules, NLI, rules then NLI) on labelled accept/reject replies."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Option(help: "Labelled replies (action TAB name TAB reply TAB label TAB origin).") var labelled = "Corpora/crs-replies.tsv"
    @Flag(help: "Also read corpus-labelled replies: answers to 'do you like X ?' (ConvAI2 valid, Synthetic-Persona-Chat) minus their yes/no opener.")
    var mined = false
    @Flag(help: "Print every misread reply.") var verbose = false

    func run() throws {
        var examples = try LabelledReply.read(URL(fileURLWithPath: labelled))
        if mined {
            let root = data.corpusRoot
            examples += LabelledReply.mined(from: try ConvAI2.read(
                selfFile: root.file("personachat/valid_self_original_no_cands.txt"),
                otherFile: root.file("personachat/valid_other_original_no_cands.txt"), source: "convai2-valid"),
                origin: "mined-convai2")
            for split in ["valid", "test"] {
                examples += LabelledReply.mined(from: try SyntheticPersonaChat.read(
                    root.file("personachat/spc_\(split).csv"), source: "spc-\(split)").dialogues, origin: "mined-spc")
            }
        }
        let reader = try speech.reader()
        var rows: [(String, (LabelledReply) -> ReplyIntent)] = [
            ("rules", { ReplyReader().read($0.reply, hypothesis: $0.hypothesis).intent }),
        ]
        if reader.nli != nil {
            rows.append(("nli", { reader.readByNLI($0.reply, hypothesis: $0.hypothesis)! }))
            rows.append(("rules+nli", { reader.read($0.reply, hypothesis: $0.hypothesis).intent }))
        }
        let origins = Array(Set(examples.map(\.origin))).sorted()
        print("\(examples.count) labelled replies (" + origins.map { o in "\(o) \(examples.filter { $0.origin == o }.count)" }
            .joined(separator: ", ") + ")")
        for (name, read) in rows {
            let start = Date()
            let predictions = examples.map(read)
            var line = "\(name):"
            for origin in origins + ["all"] {
                let pick = examples.indices.filter { origin == "all" || examples[$0].origin == origin }
                let correct = pick.filter { predictions[$0] == examples[$0].label }.count
                let unclear = pick.filter { predictions[$0] == .unclear }.count
                line += String(format: "  %@ %.3f (%d/%d, %d unclear)", origin, Double(correct) / Double(max(pick.count, 1)),
                               correct, pick.count, unclear)
            }
            print(line + String(format: "  [%.1f s]", Date().timeIntervalSince(start)))
            if verbose {
                for i in examples.indices where predictions[i] != examples[i].label {
                    print("    misread (\(predictions[i].rawValue), gold \(examples[i].label.rawValue)): \(examples[i].reply)")
                }
            }
        }
    }
}

/// `paml recommend interactive` (also `paml recommend --interactive`): a person chats with the recommender.
struct RecommendInteractive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interactive",
        abstract: "Chat with the recommender on lastfm: it asks about genres and eras and suggests artists; answer in words.",
        discussion: """
        Also started as `paml recommend --interactive`. Lines are read from standard input, so a session can be \
        scripted: printf 'I like rock\\nyes\\nno\\n' | paml recommend --interactive. The policy chooses each \
        action (max-entropy asks, top-10 recommendations by popularity), the action-language model says it with \
        real attribute and artist names, and each reply is read as yes/no (rules, then the NLI model). An empty \
        line or the end of input ends the session. With --policy-checkpoint a learned MetaCRS or global policy \
        chooses the actions instead of MaxE.
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Flag(help: "Chat in the terminal (the default action of `paml recommend`).") var interactive = false
    @Option(help: "Maximum turns T (1...100).") var maxTurns = 10
    @Option(help: "Seed of sentence sampling.") var seed: UInt64 = 1

    func validate() throws { try OptionCheck.within(maxTurns, 1...100, "--max-turns") }
    @Option(help: "A learned policy checkpoint (paml recommend train, e.g. Checkpoints/crs-lastfm/metacrs) instead of MaxE; its FM embeddings are read from ../fm next to it.")
    var policyCheckpoint: String?

    /// MaxE, or the task network of a learned checkpoint acting greedily for a new user.
    func policy(_ simulator: UserSimulator) throws -> any ConversationPolicy {
        guard let policyCheckpoint else { return RuleConversationPolicy(MaxEntropyPolicy()) }
        let folder = URL(fileURLWithPath: policyCheckpoint)
        let saved = try MetaCRS.loadPolicy(from: folder)
        guard saved.config.dataset == "lastfm" else {
            throw ValidationError("\(policyCheckpoint) was trained on \(saved.config.dataset), not lastfm")
        }
        let fm = try FactorizationMachine.load(from: folder.deletingLastPathComponent().appendingPathComponent("fm"),
                                               for: simulator.dataset).model
        FileHandle.standardError.write(Data("policy: \(saved.config.learner.rawValue) from \(policyCheckpoint) (step \(saved.step))\n".utf8))
        return LearnedConversationPolicy(network: CRSPolicyNetwork(prefix: "task", config: saved.config.training.model),
                                         parameters: saved.parameters, embeddings: CRSEmbeddings(fm))
    }

    /// One session reading lines from `input` and writing to `output`.
    func converse(input: () -> String?, output: (String) -> Void) throws -> SpokenEpisode {
        let simulator = try loadSimulator(data, dataset: "lastfm", maxTurns: maxTurns)
        let speaker = SpokenRecommender(simulator: simulator, policy: try policy(simulator),
                                        realiser: try speech.realiser(), reader: try speech.reader())
        return speaker.interactive(seed: seed, input: input, output: output)
    }

    func run() throws {
        _ = try converse(input: {
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return line
        }, output: { line in
            print(line)
            fflush(stdout)
        })
    }
}
