import ArgumentParser
import Autograd
import Evaluators
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
        let (dataset, _, _) = try PersonaMetaDataset.load(root: data.corpusRoot, seed: dataSeed)
        var maps: [MetaSplit: [String: [[String]]]] = [:]
        for split in MetaSplit.allCases { maps[split] = try PersonaMap.read(data.corpusRoot.file("personachat/persona_map_\(split.rawValue).json")) }
        let (sources, excluded) = PersonaNLIGenerator.sources(dataset: dataset, maps: maps)
        return PersonaNLIGenerator(sources: sources, excluded: excluded, seed: personaSeed).generate()
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
        var table = "| split | pairs | clusters | " + NLILabel.allCases.map(\.description).joined(separator: " | ") + " |\n|---|---:|---:|---:|---:|---:|\n"
        var kinds: [String: [Int]] = [:]
        for (index, (name, examples)) in [("train", split.train), ("valid", split.valid), ("test", split.test)].enumerated() {
            try PersonaNLIGenerator.write(examples, to: folder.appendingPathComponent("\(name).tsv"))
            let byLabel = NLILabel.allCases.map { label in examples.filter { $0.pair.label == label }.count }
            table += "| \(name) | \(examples.count) | \(Set(examples.map(\.cluster)).count) | " + byLabel.map(String.init).joined(separator: " | ") + " |\n"
            for e in examples { kinds[e.pair.label.description + " / " + e.kind, default: [0, 0, 0]][index] += 1 }
        }
        table += "\n| label / kind | train | valid | test |\n|---|---:|---:|---:|\n"
        for key in kinds.keys.sorted() { table += "| \(key) | " + kinds[key]!.map(String.init).joined(separator: " | ") + " |\n" }
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
        var (train, validation, _) = try split.split(data)
        if limit > 0 { (train, validation) = (Array(train.prefix(limit)), Array(validation.prefix(limit))) }
        var personaTrain: [NLIPair] = [], personaValid: [NLIPair] = []
        if personaPairs > 0 {
            let generated = try self.persona.load(data)
            personaTrain = Array(generated.train.prefix(personaPairs).map(\.pair))
            personaValid = generated.valid.map(\.pair)
            if limit > 0 { personaValid = Array(personaValid.prefix(limit)) }
        }
        let persona = personaTrain
        let pairs = train + persona
        // Model choice by validation: SICK validation and persona NLI validation together.
        validation += personaValid
        print("nli data: SICK train \(train.count), persona NLI train \(persona.count); validation \(validation.count) (persona \(personaValid.count))")

        let folder = try output.writable(out)
        let lock = try FolderLock(folder)
        defer { withExtendedLifetime(lock) {} }
        let pretrained = try miniLMFolder(minilm)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: pretrained.appendingPathComponent("vocab.txt"))
        var (_, parameters) = try BertEncoder.loadPretrained(from: pretrained, prefix: "bert.")
        let config = NLIConfig(bert: try BertConfig(contentsOf: pretrained.appendingPathComponent("config.json")),
                               trainedLayers: trainedLayers)
        let classifier = NLIClassifier(config: config)
        classifier.initializeHead(into: &parameters, seed: seed)

        var options = NLITrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.encoderLearningRate = encoderLR
        options.headLearningRate = headLR
        options.seed = seed
        options.saveEvery = saveEvery

        // Resumes by itself, like `paml train`: a run of the same settings continues; anything else is refused.
        var saved: Checkpoint?
        let settings = "epochs \(epochs), batch \(batchSize), encoder lr \(encoderLR), head lr \(headLR), seed \(seed), trained layers \(trainedLayers)"
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            saved = try Checkpoint.load(from: folder, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
            guard saved?.optimizer != nil else {
                throw ValidationError("\(folder.path) holds a finished model (no training state); choose another --out")
            }
            if let earlier = saved?.metadata["options"], earlier != settings {
                print("warning: resuming with \(settings) (was \(earlier))")
            }
        }

        let encodings = classifier.encode(pairs.map { ($0.premise, $0.hypothesis) }, tokenizer: tokenizer)
        let validationEncodings = classifier.encode(validation.map { ($0.premise, $0.hypothesis) }, tokenizer: tokenizer)
        let start = Date()
        var cacheProgress = ProgressReporter(label: "nli cache", total: encodings.count + validationEncodings.count, unit: "pairs")
        var cached = 0
        let states = classifier.frozenStates(encodings, parameters: parameters) {
            cacheProgress.update(step: $0, loss: 0, work: Double($0 - cached))
            cached = $0
        }
        cached = 0
        let validationStates = classifier.frozenStates(validationEncodings, parameters: parameters) {
            cacheProgress.update(step: encodings.count + $0, loss: 0, work: Double($0 - cached))
            cached = $0
        }
        print("nli cache: blocks \(classifier.frozenLayers) of \(pairs.count + validation.count) pairs in \(formatDuration(Date().timeIntervalSince(start)))")

        var trainer = NLITrainer(classifier: classifier, parameters: parameters, encodings: encodings, states: states,
                                 labels: pairs.map(\.label), options: options)
        if let saved {
            try trainer.restore(trained: saved.parameters, optimizer: saved.optimizer!)
            print("nli: resumed at step \(trainer.step)/\(trainer.totalSteps)")
        }

        var metadata = [
            "data": "SICK train split (\(train.count) pairs\(limit > 0 ? ", --limit \(limit)" : "")) + \(persona.count) persona NLI pairs (paml nli data, persona seed \(self.persona.personaSeed), data seed \(self.persona.dataSeed))",
            "split": "SICK pair_IDs sorted, Fisher-Yates with SeededGenerator(seed: \(split.splitSeed)), 70/10/20",
            "options": settings,
        ]
        if let earlier = saved?.metadata["validationByEpoch"] { metadata["validationByEpoch"] = earlier }
        func save() throws {
            metadata["steps"] = "\(trainer.step)"
            try Checkpoint.save(parameters: classifier.trainedSubset(trainer.parameters), config: config,
                                kind: NLIClassifier.checkpointKind, to: folder, metadata: metadata,
                                optimizer: trainer.optimizerState)
        }
        // Model choice by validation only: the final checkpoint holds the epoch with the best validation
        // accuracy; that epoch's tensors are kept in a sibling folder "<checkpoint>-best" while training
        // (so a resumed run still knows them) and removed after the final save.
        let bestFolder = folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + "-best")
        var best: (accuracy: Double, epoch: Int, trained: Parameters)?
        if saved != nil, FileManager.default.fileExists(atPath: bestFolder.appendingPathComponent("config.json").path) {
            let kept = try Checkpoint.load(from: bestFolder, kind: NLIClassifier.checkpointKind, expecting: classifier.trainedShapes())
            guard let accuracy = kept.metadata["validationAccuracy"].flatMap(Double.init),
                  let epoch = kept.metadata["epoch"].flatMap(Int.init) else {
                throw ValidationError("\(bestFolder.path): metadata lacks validationAccuracy or epoch")
            }
            best = (accuracy, epoch, kept.parameters)
            print("nli: best so far epoch \(epoch), validation accuracy \(String(format: "%.4f", accuracy))")
        }
        var progress = ProgressReporter(label: "nli", total: trainer.totalSteps, unit: "pairs")
        var lossSum = 0.0, lossCount = 0
        for epoch in 0..<epochs {
            let batches = trainer.batches(epoch: epoch)
            for (i, batch) in batches.enumerated() where epoch * trainer.stepsPerEpoch + i >= trainer.step {
                let loss = trainer.trainStep(batch)
                guard loss.isFinite else {
                    throw CommandLineError(message: "nli: the training loss became non-finite at step \(trainer.step); stopped without saving it "
                                           + "(lower --encoder-lr / --head-lr; the last saved state in \(folder.path) is intact)")
                }
                lossSum += Double(loss)
                lossCount += 1
                var extra = ""
                if i == batches.count - 1 {
                    let predicted = classifier.predict(states: validationStates, encodings: validationEncodings,
                                                       parameters: trainer.parameters)
                    let accuracy = NLIAccuracy(gold: validation.map(\.label), predicted: predicted)
                    extra = String(format: "epoch %d | mean loss %.4f | validation accuracy %.4f", epoch + 1,
                                   lossSum / Double(max(lossCount, 1)), accuracy.overall)
                    metadata["validationAccuracy"] = String(format: "%.4f", accuracy.overall)
                    metadata["validationByEpoch", default: ""] += (epoch == 0 ? "" : " ") + String(format: "%.4f", accuracy.overall)
                    lossSum = 0; lossCount = 0
                    if accuracy.overall > best?.accuracy ?? -1 {
                        best = (accuracy.overall, epoch + 1, classifier.trainedSubset(trainer.parameters))
                        var bestMetadata = metadata
                        bestMetadata["epoch"] = "\(epoch + 1)"
                        try Checkpoint.save(parameters: best!.trained, config: config, kind: NLIClassifier.checkpointKind,
                                            to: bestFolder, metadata: bestMetadata)
                    }
                }
                progress.update(step: trainer.step, loss: loss, work: Double(batch.count), extra: extra)
                if trainer.step % saveEvery == 0 || i == batches.count - 1 { try save() }
            }
        }
        guard let best else { throw ValidationError("no epoch finished; nothing to save") }
        metadata["steps"] = "\(trainer.step)"
        metadata["chosenEpoch"] = "\(best.epoch) of \(epochs) (best validation accuracy)"
        metadata["validationAccuracy"] = String(format: "%.4f", best.accuracy)
        try Checkpoint.save(parameters: best.trained, config: config, kind: NLIClassifier.checkpointKind, to: folder, metadata: metadata)
        try? FileManager.default.removeItem(at: bestFolder)
        print("nli: saved \(folder.path): epoch \(best.epoch) (validation accuracy \(String(format: "%.4f", best.accuracy))), "
              + "trained tensors only, \(best.trained.scalarCount) floats")
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
        let predictedContradictions = predicted.filter { $0 == .contradiction }.count
        let correctContradictions = zip(pairs, predicted).filter { $0.0.label == .contradiction && $0.1 == .contradiction }.count
        let precision = Double(correctContradictions) / Double(max(predictedContradictions, 1))
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
        var rng = SeededGenerator(seed: seed)
        var own: [(utterance: String, persona: [String])] = [], other: [(utterance: String, persona: [String])] = []
        var contradicting: [(utterance: String, persona: [String])] = []
        var dropped = 0
        for (i, episode) in episodes.enumerated() {
            var j = Int(rng.next() % UInt64(episodes.count - 1))
            if j >= i { j += 1 }
            for pair in episode.pairs {
                own.append((pair.response, episode.persona))
                other.append((pair.response, episodes[j].persona))
                let negated = episode.persona.shuffled(using: &rng).lazy.compactMap {
                    PersonaNLIGenerator.contradiction(of: $0, using: &rng)
                }.first
                if let negated { contradicting.append((negated, episode.persona)) } else { dropped += 1 }
            }
        }
        let nli = try model.load()
        let scorer = ConsistencyScorer(predictor: nli)
        let start = Date()
        let ownScores = scorer.score(own), otherScores = scorer.score(other), contradictionScores = scorer.score(contradicting)
        let seconds = Date().timeIntervalSince(start)
        let pairs = (own + other + contradicting).reduce(0) { $0 + $1.persona.count }
        print("ConvAI2 \(file), first \(episodes.count) dialogues, \(own.count) human responses, seed \(seed):")
        print(String(format: "| transcript | utterances | mean C |\n|---|---:|---:|\n| human responses, own persona | %d | %.3f |\n"
                     + "| human responses, random other persona | %d | %.3f |\n| contradiction transcript (own persona) | %d | %.3f |",
                     own.count, ConsistencyScorer.meanScore(ownScores), other.count, ConsistencyScorer.meanScore(otherScores),
                     contradicting.count, ConsistencyScorer.meanScore(contradictionScores)))
        print("contradiction transcript: \(dropped) responses dropped (no persona sentence with a negation rule)")
        if let signature = nli.signature { print("scorer: \(signature.line)") }
        print(String(format: "%d NLI pairs in %.1f s (%.0f pairs/s)", pairs, seconds, Double(pairs) / seconds))
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
        // Each response with 5 distinct persona sentences: its own persona, topped up from the next dialogues'
        // personas (ConvAI2 personas hold 3-5), so all N x 5 pairs are real work (none repeats).
        var items: [(utterance: String, persona: [String])] = []
        for (i, e) in episodes.enumerated() where items.count < utterances {
            var persona: [String] = []
            for sentence in (0..<episodes.count).lazy.flatMap({ episodes[(i + $0) % episodes.count].persona }) where !persona.contains(sentence) {
                persona.append(sentence)
                if persona.count == 5 { break }
            }
            items += e.pairs.prefix(utterances - items.count).map { (utterance: $0.response, persona: persona) }
        }
        guard items.count == utterances else { throw ValidationError("\(file) has only \(items.count) responses") }
        var nli = try model.load()
        nli.batchSize = batchSize
        let pairs = items.flatMap { item in item.persona.map { (premise: item.utterance, hypothesis: $0) } }
        let distinct = Set(pairs.map { $0.premise + "\u{0}" + $0.hypothesis }).count
        let tokens = nli.classifier.encode(pairs, tokenizer: nli.tokenizer).reduce(0) { $0 + $1.count }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        let scorer = ConsistencyScorer(predictor: nli)
        let (start, cpuStart) = (Date(), processCPUSeconds())
        let scored = scorer.score(items)
        let (seconds, cpu) = (Date().timeIntervalSince(start), processCPUSeconds() - cpuStart)
        print(String(format: "%d utterances x 5 persona sentences = %d pairs (%d distinct, %d tokens) in %.1f s (%.0f pairs/s), "
                     + "CPU %.1f s (user+sys, all threads), ", items.count, pairs.count, distinct, tokens, seconds,
                     Double(pairs.count) / seconds, cpu)
              + "load average before \(load), mean C " + String(format: "%.3f", ConsistencyScorer.meanScore(scored)))
    }

    /// User + system CPU seconds of this process so far (all threads).
    func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
