import ArgumentParser
import Autograd
import Dialogue
import NLI
import Foundation
import MetaLearning
import NN
import Experiments
import Recommender
import SpokenRecommender
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
        return try ActionRealiser(checkpoint: try DialogueCheckpoint(folder: resolvedInput(languageCheckpoint)), strategy: strategy,
                                  style: style.map { URL(fileURLWithPath: $0) }, styleSteps: styleSteps, styleLearningRate: styleLr, log: log)
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
        var config = ActionLanguageTrainingConfig(data: data.corpusRoot.url.path, out: out, work: work)
        (config.dataSeed, config.steps, config.batchSize, config.learningRate, config.seed) = (dataSeed, steps, batchSize, learningRate, seed)
        (config.layers, config.width, config.minCount, config.slotItems) = (layers, width, minCount, slotItems)
        let job = ActionLanguageTraining(config: config)
        let pairs = try job.minePairs(log: { print($0) }, allFrames: pairsOnly)
        if pairsOnly { return }
        let outFolder = try output.writable(out)
        let lock = try FolderLock(outFolder)
        defer { withExtendedLifetime(lock) {} }
        let metrics = measureOnly ? try job.measure(try DialogueCheckpoint(folder: resolvedInput(out)), heldOut: pairs.heldOut)
                                  : try job.train(pairs, log: { print($0) })
        print(metrics.summary)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(metrics).write(to: outFolder.appendingPathComponent("metrics.json"), options: .atomic)
        print("saved \(out) (model, vocab.txt, metrics.json)")
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
        let actions = try CRSAction.parse(asking: attributes, recommending: items, in: d)
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
        guard let style = speech.style else { return }
        for (label, realiser) in systems {
            guard let realiser else { continue }
            let u = try StyleUptake.measure(realiser, style: URL(fileURLWithPath: style), dataset: d, seed: seed)
            print(String(format: "%@: BLEU to the style examples %.2f; %d distinct delexicalised sentences; "
                         + "model sentences %d, template fallbacks %d (of %d)", label, u.bleu, u.distinct, u.usable, u.fallbacks, u.total))
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
        if mined { examples += try LabelledReply.mined(root: data.corpusRoot) }
        let origins = Array(Set(examples.map(\.origin))).sorted()
        print("\(examples.count) labelled replies (" + origins.map { o in "\(o) \(examples.filter { $0.origin == o }.count)" }
            .joined(separator: ", ") + ")")
        for result in ReplyReaderEvaluation.measure(try speech.reader(), on: examples) {
            print("\(result.reader):" + result.byOrigin.map {
                String(format: "  %@ %.3f (%d/%d, %d unclear)", $0.origin, $0.accuracy, $0.correct, $0.total, $0.unclear)
            }.joined() + String(format: "  [%.1f s]", result.seconds))
            if verbose {
                for (reply, predicted) in result.misread {
                    print("    misread (\(predicted.rawValue), gold \(reply.label.rawValue)): \(reply.reply)")
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
        return try LearnedConversationPolicy(checkpoint: resolvedInput(policyCheckpoint), dataset: simulator.dataset,
                                             log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
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
