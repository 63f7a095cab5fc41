import ArgumentParser
import Dialogue
import Experiments
import Foundation
import Recommender
import NLI
import SpokenRecommender
import Tensor
import Text

/// `paml recommend make-voices`: voice files (persona files in which the system speaks) from hand-written specs.
struct RecommendMakeVoices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-voices",
        abstract: "Write the recommender's voices as persona files (train / valid / test) from the voice specs.",
        discussion: """
        Each spec (Corpora/voices/voices.json) has persona sentences, frames with {name} and acknowledgements. \
        Each voice file holds max-entropy sessions with lastfm users of the voice's split, said in that voice with \
        real attribute and artist names; every system line is checked to read back as its action.
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "The voice specs (JSON list).") var specs = "Corpora/voices/voices.json"
    @Option(help: "Folder the voice files go to (<split>/<name>.jsonl).") var out = "runs/voices"
    @OptionGroup var output: OutputOptions
    @Option(help: "Dialogue checkpoint whose 3,000 most frequent words are not read as one-word artist names.")
    var vocabularyFrom = "Checkpoints/paml"
    @Option(help: "Seed of sessions and wording.") var seed: UInt64 = 1

    func validate() throws { _ = try output.writable(out) }

    func run() throws {
        let folder = try output.writable(out)
        let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/lastfm"))
        let vocabulary = try DialogueCheckpoint(folder: resolvedInput(vocabularyFrom)).vocabulary
        try SpeakerTraining.makeVoices(specs: try VoiceSpec.load(resolvedInput(specs)), dataset: d, folder: folder, seed: seed,
                                       commonWords: ActionRealiser.commonWords(vocabulary), log: { print($0) })
    }
}

/// `paml recommend train-speaker`: the PAML dialogue model learns to say the recommender's actions.
struct RecommendTrainSpeaker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-speaker",
        abstract: "Teach the persona dialogue model to say CRS actions while it keeps its chit-chat (one model for both).",
        discussion: """
        Starts from --base (the shipped PAML model), adds the action prompt and placeholder words, and trains on \
        Persona-Chat meta-train mixed with simulated recommendation conversations (the mined frames, the training \
        voices). Reports meta-valid chit-chat perplexity before and after, held-out action perplexity and BLEU, and \
        slot accuracy of slot-exact decoding on lastfm names. Resumable (--work).
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Dialogue checkpoint to start from.") var base = "Checkpoints/paml"
    @Option(help: "Folder of voice files (paml recommend make-voices).") var voices = "Corpora/voices"
    @Option(help: "Folder of the finished speaker (Checkpoints/... needs --force).") var out = "runs/speaker/model"
    @OptionGroup var output: OutputOptions
    @Option(help: "Folder of the resumable training run.") var work = "runs/speaker/run"
    @Option(help: "Training steps.") var steps = 2_000
    @Option(help: "Examples per batch.") var batchSize = 32
    @Option(help: "Adam learning rate.") var learningRate: Float = 3e-4
    @Option(help: "Training seed (also of the simulated conversations).") var seed: UInt64 = 1
    @Option(help: "Simulated conversations of the mined frames in training.") var neutralSessions = 3_000
    @Option(help: "Validate (and checkpoint) every this many steps.") var validateEvery = 250
    @Option(help: "Meta-train instead (> 0; --base must be a speaker): MAML iterations over the training voices as tasks, best on the valid voices.")
    var metaSteps = 0
    @Option(help: "Tasks per meta-iteration.") var metaBatchSize = 8

    func validate() throws {
        _ = try output.writable(out)
        _ = try output.writable(work, option: "--work")
        try OptionCheck.within(steps, 1...1_000_000, "--steps")
        try OptionCheck.within(batchSize, 1...4_096, "--batch-size")
        try OptionCheck.positive(learningRate, "--learning-rate", upTo: 1)
        try OptionCheck.within(neutralSessions, 1...100_000, "--neutral-sessions")
        try OptionCheck.within(validateEvery, 1...1_000_000, "--validate-every")
        try OptionCheck.within(metaSteps, 0...1_000_000, "--meta-steps")
        try OptionCheck.within(metaBatchSize, 1...1_024, "--meta-batch-size")
    }

    func run() throws {
        let outFolder = try output.writable(out)
        _ = try output.writable(work, option: "--work")
        let lock = try FolderLock(outFolder)
        defer { withExtendedLifetime(lock) {} }
        var config = SpeakerTrainingConfig(data: data.corpusRoot.url.path, base: resolvedInput(base).path,
                                           voices: resolvedInput(voices).path, out: out, work: work)
        (config.steps, config.batchSize, config.learningRate, config.seed) = (steps, batchSize, learningRate, seed)
        (config.neutralSessions, config.validateEvery) = (neutralSessions, validateEvery)
        (config.metaSteps, config.metaBatchSize) = (metaSteps, metaBatchSize)
        let metrics = try SpeakerTraining(config: config).run(log: { print($0) })
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(metrics).write(to: outFolder.appendingPathComponent("metrics.json"), options: .atomic)
        print("saved \(out) (model, vocab.txt, metrics.json)")
    }
}

/// `paml recommend voices`: the speaker before and after k-shot adaptation to held-out voices.
struct RecommendVoices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voices",
        abstract: "Measure k-shot voice adaptation of the speaker on held-out voices (style uptake, distinct-2, C, fluency).",
        discussion: """
        For each voice file: adapt the speaker on its first k dialogues (the release's k-shot protocol: SGD 0.01, 10 \
        passes), then say every action line of its held-out dialogues again from the same conversation (beam 5, \
        slot-exact). Reports BLEU to the voice's own lines, distinct-2, C against the voice's persona (the project's \
        NLI scorer, signature printed), perplexity of the held-out answers, and paired differences against k = 0.
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Speaker checkpoint (paml recommend train-speaker).") var speaker = "Checkpoints/crs-speaker"
    @Option(help: "Folder of the held-out voice files.") var voices = "Corpora/voices/test"
    @Option(parsing: .upToNextOption, help: "k values (0 = unadapted).") var shots: [Int] = [0, 1, 3, 5]
    @Option(help: "NLI checkpoint of C.") var nliCheckpoint = "Checkpoints/nli"
    @Option(help: "all-MiniLM-L6-v2 model folder. Default: \(MiniLMLocation.environmentVariable) or the pip package.") var minilm: String?
    @Option(help: "Bootstrap resamples.") var resamples = 10_000
    @Option(help: "Report file (markdown; JSON beside it).") var report = "runs/voices-report.md"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try output.writable(report, option: "--report")
        guard !shots.isEmpty, shots.allSatisfy({ (0...5).contains($0) }) else { throw ValidationError("--shots: k values in 0...5") }
        try OptionCheck.within(resamples, 2...1_000_000, "--resamples")
    }

    func run() throws {
        let folder = resolvedInput(voices)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        guard !files.isEmpty else { throw ValidationError("--voices \(voices): no .jsonl voice files") }
        var config = VoiceEvaluationConfig(data: data.corpusRoot.url.path, speaker: resolvedInput(speaker).path,
                                           voiceFiles: files.map { folder.appendingPathComponent($0).path },
                                           nliCheckpoint: resolvedInput(nliCheckpoint).path,
                                           minilm: try MiniLMLocation.folder(minilm, neededFor: "C").path)
        (config.shots, config.resamples) = (shots, resamples)
        let command = "paml " + CommandLine.arguments.dropFirst().joined(separator: " ")
        let result = try VoiceEvaluation(config: config).run(command: command, log: { print($0) })
        let markdown = VoiceEvaluation.markdown(result)
        print(markdown)
        let url = try output.writable(report, option: "--report")
        try Data((markdown + "\n").utf8).write(to: url, options: .atomic)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(result).write(to: url.deletingPathExtension().appendingPathExtension("json"), options: .atomic)
        print("wrote \(report)")
    }
}

/// `paml recommend language-loop`: SR@10 / AT of the learned policy on symbols and fully in words.
struct RecommendLanguageLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "language-loop",
        abstract: "The cost of language: the learned MetaCRS policy's lastfm test sessions on symbols and in words.",
        discussion: """
        The same sessions (test users, seeded) three ways: on symbols; in words with each --realiser saying the \
        actions (a speaker reads the conversation so far) and simulated users answering in words (plain / chatty / \
        vague), read back by the reply reader, the system acting on what it read. A sentence that lacks its name gets \
        "sorry, what do you mean?" (read as no). SR@10 and AT with 95% bootstrap intervals, and paired differences.
        """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Learned policy checkpoint of lastfm.") var policyCheckpoint = "Checkpoints/crs-lastfm/metacrs"
    @Option(help: "Realiser checkpoints (speaker or action-language) or `templates` (repeatable).")
    var realiser: [String] = ["Checkpoints/crs-speaker", "Checkpoints/crs-language", "templates"]
    @Option(help: "A voice file the speakers adapt to first.") var voice: String?
    @Option(help: "Sessions.") var sessions = 1_000
    @Option(help: "Seed of the sessions.") var seed: UInt64 = 7
    @OptionGroup var replies: ReaderOptions
    @Option(help: "Bootstrap resamples.") var resamples = 10_000
    @Option(help: "Report file (markdown; JSON beside it).") var report = "runs/language-loop.md"
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try output.writable(report, option: "--report")
        try OptionCheck.within(sessions, 1...1_000_000, "--sessions")
        try OptionCheck.within(resamples, 2...1_000_000, "--resamples")
    }

    func run() throws {
        var config = SpokenLoopConfig(data: data.corpusRoot.url.path, policy: resolvedInput(policyCheckpoint).path,
                                      realisers: realiser.map { $0 == "templates" ? $0 : resolvedInput($0).path })
        config.voice = voice.map { resolvedInput($0).path }
        if let folders = replies.nliFolders() { (config.nliCheckpoint, config.minilm) = (folders.checkpoint.path, folders.pretrained.path) }
        (config.sessions, config.seed, config.resamples) = (sessions, seed, resamples)
        let command = "paml " + CommandLine.arguments.dropFirst().joined(separator: " ")
        let result = try SpokenLoop(config: config).run(command: command, log: { print($0) })
        let markdown = SpokenLoop.markdown(result)
        print(markdown)
        print(result.transcripts.joined(separator: "\n\n"))
        let url = try output.writable(report, option: "--report")
        try Data((markdown + "\n\n```\n" + result.transcripts.joined(separator: "\n\n") + "\n```\n").utf8).write(to: url, options: .atomic)
        let json = JSONEncoder()
        json.outputFormatting = [.prettyPrinted, .sortedKeys]
        try json.encode(result).write(to: url.deletingPathExtension().appendingPathExtension("json"), options: .atomic)
        print("wrote \(report)")
    }
}
