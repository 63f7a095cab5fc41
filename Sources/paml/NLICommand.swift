import ArgumentParser
import NLI
import Foundation
import NN
import Tensor
import Text

/// `paml nli`: fine-tune and evaluate the NLI classifier behind the consistency score C.
struct NLICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nli",
        abstract: "NLI classifier (MiniLM cross-encoder) for persona consistency: train, evaluate, human baseline.",
        subcommands: [NLIDataCommand.self, NLITrainCommand.self, NLIEvaluateCommand.self, NLIHumanCommand.self, NLISpeedCommand.self]
    )
}

/// The all-MiniLM-L6-v2 folder: `explicit` if given, else $PAML_MINILM_DIR or the pip package. `purpose`
/// (the option that needs it) starts the error message.
func miniLMFolder(_ explicit: String?, neededFor purpose: String? = nil) throws -> URL {
    if let explicit { return URL(fileURLWithPath: explicit) }
    guard let found = MiniLMLocation.find() else {
        throw ValidationError((purpose.map { "\($0): " } ?? "")
                              + "all-MiniLM-L6-v2 not found; looked in \(MiniLMLocation.searchedFolders())")
    }
    return found
}

/// Where the trained checkpoint and the pretrained MiniLM are.
struct NLIModelOptions: ParsableArguments {
    @Option(name: .long, help: "NLI checkpoint folder.")
    var nliCheckpoint: String = "Checkpoints/nli"

    @Option(name: .long, help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.")
    var minilm: String?

    func pretrainedFolder() throws -> URL { try miniLMFolder(minilm) }

    func load() throws -> NLIModel {
        try NLIModel(checkpoint: resolvedInput(nliCheckpoint), pretrained: pretrainedFolder())
    }
}

/// The persona NLI pairs (Dialogue-NLI kind) built from the corpora, shared by `nli data`, `train` and `evaluate`.
struct PersonaNLIOptions: ParsableArguments {
    @Option(name: .long, help: "Seed of the persona NLI pairs (templates, sampling, cluster split).")
    var personaSeed: UInt64 = 11
    @Option(name: .long, help: "Data seed of the meta-dataset whose meta-test personas are kept out.")
    var dataSeed: UInt64 = 0

    func load(_ data: DataOptions) throws -> PersonaNLIGenerator.Split {
        try PersonaNLIGenerator.fromCorpora(data.corpusRoot, dataSeed: dataSeed, seed: personaSeed).generate()
    }
}

/// `paml nli data`: builds the persona NLI pairs and writes them as TSV with counts per label and kind.
struct NLIDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Build the persona NLI pairs (entailment / neutral / contradiction from the persona corpora; no meta-test persona) as TSV."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var persona: PersonaNLIOptions
    @Option(name: .long, help: "Folder for train.tsv, valid.tsv, test.tsv and counts.md.") var out = "runs/persona-nli"
    @OptionGroup var output: OutputOptions

    func validate() throws { _ = try output.writable(out) }

    func run() throws {
        let folder = try output.writable(out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let split = try persona.load(data)
        for (name, examples) in [("train", split.train), ("valid", split.valid), ("test", split.test)] {
            try PersonaNLIGenerator.write(examples, to: folder.appendingPathComponent("\(name).tsv"))
        }
        let table = split.countsTable
        try Data(table.utf8).write(to: folder.appendingPathComponent("counts.md"), options: .atomic)
        print(table)
        print("wrote \(folder.path)/train.tsv, valid.tsv, test.tsv, counts.md")
    }
}

/// The SICK split shared by train and evaluate.
struct SICKSplitOptions: ParsableArguments {
    @Option(name: .long, help: "Seed of the SICK split by pair_ID (70/10/20).")
    var splitSeed: UInt64 = 2014

    func split(_ data: DataOptions) throws -> (train: [NLIPair], validation: [NLIPair], test: [NLIPair]) {
        SICK.split(try SICK.read(data.corpusRoot.file("nli/SICK.txt")), seed: splitSeed)
    }
}

struct NLITrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune the top MiniLM blocks + a head on SICK train (+ persona-map pairs); resumable.",
        discussion: "Rerunning the same command resumes the run in --out (as `paml train` does); a run of other settings there is refused."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SICKSplitOptions
    @Option(name: .long, help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.")
    var minilm: String?
    @Option(name: .long, help: "Run folder: resumable state while training, the best epoch's model at the end.")
    var out = "runs/nli"
    @OptionGroup var output: OutputOptions

    @Option(name: .long, help: "Top encoder blocks to fine-tune (and save).")
    var trainedLayers = 2
    @OptionGroup var persona: PersonaNLIOptions
    @Option(name: .long, help: "Persona NLI training pairs added to SICK train (balanced; at most this many, 0 = none; see `paml nli data`).")
    var personaPairs = 1000
    @Option(name: .long, help: "Epochs over the training pairs.")
    var epochs = 3
    @Option(name: .long, help: "Pairs per batch.")
    var batchSize = 32
    @Option(name: .long, help: "Peak learning rate of the fine-tuned blocks.")
    var encoderLR: Float = 1e-4
    @Option(name: .long, help: "Peak learning rate of the head.")
    var headLR: Float = 1e-3
    @Option(name: .long, help: "Seed of head initialisation, batch order and dropout.")
    var seed: UInt64 = 1
    @Option(name: .long, help: "Save a resumable checkpoint every N steps.")
    var saveEvery = 200
    @Option(name: .long, help: "Use only the first N SICK train and validation pairs (smoke runs; 0 = all).")
    var limit = 0

    func validate() throws {
        _ = try output.writable(out)
        try OptionCheck.within(trainedLayers, 1...6, "--trained-layers")
        try OptionCheck.within(epochs, 1...1000, "--epochs")
        try OptionCheck.within(batchSize, 1...4096, "--batch-size")
        try OptionCheck.atLeast(saveEvery, 1, "--save-every")
        try OptionCheck.within(personaPairs, 0...10_000_000, "--persona-pairs")
        try OptionCheck.positive(encoderLR, "--encoder-lr", upTo: 1)
        try OptionCheck.positive(headLR, "--head-lr", upTo: 1)
        try OptionCheck.atLeast(limit, 0, "--limit")
    }

    func run() throws {
        let sick = try split.split(data)
        let generated = personaPairs > 0 ? try self.persona.load(data) : PersonaNLIGenerator.Split()
        let (pairs, validation, counts) = NLIFineTuning.data(sick: (sick.train, sick.validation), persona: generated,
                                                            personaPairs: personaPairs, limit: limit)
        print("nli data: SICK train \(counts.sick), persona NLI train \(counts.persona); validation \(validation.count) (persona \(counts.personaValidation))")

        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        var options = NLITrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.encoderLearningRate = encoderLR
        options.headLearningRate = headLR
        options.seed = seed
        options.saveEvery = saveEvery
        let run = NLIFineTuning(
            pretrained: try miniLMFolder(minilm), trainedLayers: trainedLayers, options: options, train: pairs, validation: validation,
            data: "SICK train split (\(counts.sick) pairs\(limit > 0 ? ", --limit \(limit)" : "")) + \(counts.persona) persona NLI pairs (paml nli data, persona seed \(self.persona.personaSeed), data seed \(self.persona.dataSeed))",
            split: "SICK pair_IDs sorted, Fisher-Yates with SeededGenerator(seed: \(split.splitSeed)), 70/10/20")
        let result = try run.train(into: folder, log: { print($0) })
        print("nli: saved \(folder.path): epoch \(result.epoch) (validation accuracy \(String(format: "%.4f", result.validationAccuracy))), "
              + "trained tensors only, \(result.trainedScalars) floats")
    }
}

struct NLIEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Accuracy per class and overall on the SICK test split (markdown table)."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SICKSplitOptions
    @OptionGroup var model: NLIModelOptions

    @OptionGroup var persona: PersonaNLIOptions
    @Option(name: .long, help: "Which set: test or validation (SICK), persona-test or persona-valid (persona NLI), real (the hand-labelled ConvAI2 set).")
    var on = "test"
    @Option(name: .long, help: "The hand-labelled real set for --on real.")
    var real = "Corpora/persona-nli-real-test.tsv"
    @Flag(name: .long, help: "Record the accuracy in the checkpoint's metadata (accuracy.<set>), where `paml score` prints it; shipped checkpoints need --force.")
    var record = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard ["test", "validation", "persona-test", "persona-valid", "real"].contains(on) else {
            throw ValidationError("--on \(on): expected test or validation, persona-test, persona-valid or real")
        }
        if record { _ = try output.writable(resolvedInput(model.nliCheckpoint).path, option: "--nli-checkpoint") }
    }

    func run() throws {
        let pairs: [NLIPair]
        switch on {
        case "test", "validation":
            let parts = try split.split(data)
            pairs = on == "test" ? parts.test : parts.validation
        case "real":
            pairs = try HandLabelledPersonaNLI.read(resolvedInput(real)).map(\.pair)
        default:
            let generated = try persona.load(data)
            pairs = (on == "persona-test" ? generated.test : generated.valid).map(\.pair)
        }
        let nli = try model.load()
        let start = Date()
        let predicted = nli.predict(pairs.map { ($0.premise, $0.hypothesis) })
        let seconds = Date().timeIntervalSince(start)
        let accuracy = NLIAccuracy(gold: pairs.map(\.label), predicted: predicted)
        print("\(on) (\(pairs.count) pairs; SICK split seed \(split.splitSeed), persona seed \(persona.personaSeed)), checkpoint \(model.nliCheckpoint):\n")
        print("| class | pairs | accuracy |")
        print("|---|---:|---:|")
        for label in NLILabel.allCases {
            print("| \(label) | \(accuracy.count(label)) | " + String(format: "%.2f%%", 100 * accuracy.accuracy(label)) + " |")
        }
        print("| overall | \(accuracy.total) | " + String(format: "%.2f%%", 100 * accuracy.overall) + " |")
        print("\nconfusion (rows gold, columns predicted; entailment, neutral, contradiction): \(accuracy.confusion)")
        let precision = accuracy.precision(.contradiction)
        print(String(format: "contradiction recall %.2f%%, precision %.2f%%", 100 * accuracy.accuracy(.contradiction), 100 * precision))
        if record {
            let name = on == "test" ? "sick-test" : on == "validation" ? "sick-valid" : on
            var entries = ["accuracy.\(name)": String(format: "%.2f%%", 100 * accuracy.overall)]
            if on == "real" {
                entries["accuracy.real-contradiction-recall"] = String(format: "%.2f%%", 100 * accuracy.accuracy(.contradiction))
                entries["accuracy.real-contradiction-precision"] = String(format: "%.2f%%", 100 * precision)
            }
            try Checkpoint.updateMetadata(in: resolvedInput(model.nliCheckpoint), entries)
            print("recorded \(entries.keys.sorted().joined(separator: ", ")) in \(model.nliCheckpoint)/config.json")
        }
        print(String(format: "scored in %.1f s (%.0f pairs/s)", seconds, Double(pairs.count) / seconds))
    }
}

struct NLIHumanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "human",
        abstract: "Mean C of human ConvAI2 responses against their own persona, a random other one, and of a contradiction transcript.",
        discussion: """
        The contradiction transcript replaces every response with the negation of one of its own persona's sentences \
        (seeded; responses whose persona has no sentence with a negation rule are dropped and counted). A scorer that \
        sees contradictions must give it a clearly negative C.
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: NLIModelOptions

    @Option(name: .long, help: "ConvAI2 file under --data.")
    var file = "personachat/valid_self_original_no_cands.txt"
    @Option(name: .long, help: "Dialogues used (the first N; 0 = all).")
    var dialogues = 300
    @Option(name: .long, help: "Seed for drawing the other persona.")
    var seed: UInt64 = 1

    func validate() throws { try OptionCheck.atLeast(dialogues, 0, "--dialogues") }

    func run() throws {
        var episodes = try ConvAI2.readEpisodes(data.corpusRoot.file(file), personaPrefix: "your persona:")
        if dialogues > 0 { episodes = Array(episodes.prefix(dialogues)) }
        guard episodes.count > 1 else { throw ValidationError("\(file): need at least 2 dialogues") }
        let nli = try model.load()
        let start = Date()
        let c = HumanConsistency.measure(episodes: episodes, scorer: ConsistencyScorer(predictor: nli), seed: seed)
        let seconds = Date().timeIntervalSince(start)
        print("ConvAI2 \(file), first \(episodes.count) dialogues, \(c.own.count) human responses, seed \(seed):")
        print(String(format: "| transcript | utterances | mean C |\n|---|---:|---:|\n| human responses, own persona | %d | %.3f |\n"
                     + "| human responses, random other persona | %d | %.3f |\n| contradiction transcript (own persona) | %d | %.3f |",
                     c.own.count, ConsistencyScorer.meanScore(c.own), c.other.count, ConsistencyScorer.meanScore(c.other),
                     c.contradiction.count, ConsistencyScorer.meanScore(c.contradiction)))
        print("contradiction transcript: \(c.dropped) responses dropped (no persona sentence with a negation rule)")
        if let signature = nli.signature { print("scorer: \(signature.line)") }
        print(String(format: "%d NLI pairs in %.1f s (%.0f pairs/s)", c.pairs, seconds, Double(c.pairs) / seconds))
    }
}

struct NLISpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Time C for N human ConvAI2 responses x 5 persona sentences (N x 5 NLI pairs)."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: NLIModelOptions

    @Option(name: .long, help: "ConvAI2 file under --data.")
    var file = "personachat/valid_self_original_no_cands.txt"
    @Option(name: .long, help: "Utterances scored.")
    var utterances = 1000
    @Option(name: .long, help: "Pairs packed into one forward pass.")
    var batchSize = 512

    func validate() throws {
        try OptionCheck.within(utterances, 1...1_000_000, "--utterances")
        try OptionCheck.within(batchSize, 1...65_536, "--batch-size")
    }

    func run() throws {
        let episodes = try ConvAI2.readEpisodes(data.corpusRoot.file(file), personaPrefix: "your persona:")
        var nli = try model.load()
        nli.batchSize = batchSize
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        guard let r = NLISpeed.measure(episodes: episodes, utterances: utterances, model: nli) else {
            throw ValidationError("\(file) has fewer than \(utterances) responses")
        }
        print(String(format: "%d utterances x 5 persona sentences = %d pairs (%d distinct, %d tokens) in %.1f s (%.0f pairs/s), "
                     + "CPU %.1f s (user+sys, all threads), ", r.utterances, r.pairs, r.distinct, r.tokens, r.seconds,
                     Double(r.pairs) / r.seconds, r.cpuSeconds)
              + "load average before \(load), mean C " + String(format: "%.3f", r.meanC))
    }
}
