import ArgumentParser
import Autograd
import Dialogue
import Evaluators
import Foundation
import MetaLearning
import NN
import Tensor
import Text

/// A few dialogues of one persona, from a ConvAI2 text file (`your persona:` lines, then
/// `N partner<TAB>persona` lines) or JSONL (one dialogue a line:
/// `{"persona": ["i like cats."], "pairs": [["hi!", "hello, i have two cats."], ...]}`).
struct PersonaDialogueFile {
    var persona: [String]
    var examples: [PersonaExample]
    var dialogues: Int

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        var episodes: [(persona: [String], pairs: [(String, String)])] = []
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let pairs = object["pairs"] as? [[String]], pairs.allSatisfy({ $0.count == 2 }) else {
                    throw ValidationError("\(path):\(number + 1): expected {\"persona\": [...], \"pairs\": [[partner, persona], ...]}")
                }
                episodes.append((object["persona"] as? [String] ?? [], pairs.map { ($0[0], $0[1]) }))
            }
        } else {
            episodes = try ConvAI2.readEpisodes(url, personaPrefix: "your persona:").map { episode in
                (episode.persona, episode.pairs.map { ($0.utterance, $0.response) })
            }
        }
        guard !episodes.isEmpty else { throw ValidationError("\(path): no dialogues found") }
        persona = episodes.first { !$0.persona.isEmpty }?.persona ?? []
        dialogues = episodes.count
        examples = episodes.flatMap { episode -> [PersonaExample] in
            var history: [String] = []
            return episode.pairs.map { partner, answer in
                history.append(partner)
                defer { history.append(answer) }
                return PersonaExample(persona: episode.persona, history: history, response: answer)
            }
        }
    }
}

/// Options shared by chat, generate and adapt: which model, which persona, how to adapt and decode.
struct GenerationOptions: ParsableArguments {
    @Option(help: "Dialogue model checkpoint folder.") var checkpoint = "Checkpoints/paml"
    @Option(help: "A few dialogues of the persona to adapt to (ConvAI2 text or .jsonl).") var persona: String?
    @Option(help: "Adaptation SGD passes over the persona's dialogues (PAML k-shot; the experiment's protocol uses 3).")
    var adaptSteps = 3
    @Option(help: "Adaptation SGD learning rate (0.003: the shipped PAML model's best rate for 3 dialogues on meta-valid personas).")
    var adaptLr: Float = 0.003
    @Option(help: "Global-norm clip of each adaptation gradient (0: none; the shipped PAML model was meta-trained with 2).")
    var adaptGradientClip: Float = 2
    @Option(help: "Decoding: beam, greedy, top-k.") var decoding = "beam"
    @Option(help: "Beam size.") var beamSize = 5
    @Option(help: "k for top-k sampling.") var topK = 10
    @Option(help: "Sampling temperature for top-k.") var temperature: Float = 0.8
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Option(help: ArgumentHelp("NLI checkpoint (e.g. Checkpoints/nli): re-rank the beam's hypotheses by persona consistency C, ties by beam score (Welleck et al. 2019). Default off.",
                               valueName: "checkpoint"))
    var rerankNli: String?

    func validate() throws {
        guard ["beam", "greedy", "top-k"].contains(decoding) else {
            throw ValidationError("--decoding must be beam, greedy or top-k (got \(decoding))")
        }
        if rerankNli != nil {
            guard decoding == "beam" else { throw ValidationError("--rerank-nli re-ranks beam hypotheses; use --decoding beam") }
            guard persona != nil else { throw ValidationError("--rerank-nli needs --persona FILE (the persona sentences to be consistent with)") }
        }
    }

    /// The NLI re-ranker of `--rerank-nli`, with the pretrained MiniLM from the pip package or $PAML_MINILM_DIR.
    func loadReranker() throws -> ConsistencyReranker? {
        guard let rerankNli else { return nil }
        return ConsistencyReranker(predictor: try NLIModel(checkpoint: URL(fileURLWithPath: rerankNli),
                                                           pretrained: miniLMFolder(nil, neededFor: "--rerank-nli")))
    }

    var strategy: DecodingStrategy {
        switch decoding {
        case "greedy": return .greedy
        case "top-k": return .topK(k: topK, temperature: temperature)
        default: return .beam(size: beamSize)
        }
    }

    /// The model, adapted to the persona file when one is given, plus the persona sentences.
    func loadAdapted() throws -> (loaded: LoadedDialogueModel, parameters: Parameters, persona: [String]) {
        setBLASThreads(2)
        let loaded = try LoadedDialogueModel(folder: checkpoint)
        guard let persona else { return (loaded, loaded.parameters, []) }
        let file = try PersonaDialogueFile(path: persona)
        let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
        let kshot = KShotProtocol(steps: adaptSteps, learningRate: adaptLr, gradientClip: adaptGradientClip)
        let start = Date()
        let adapted = kshot.adapt(model: loaded.model, parameters: loaded.parameters,
                                  support: file.examples.map(encoder.encode))
        FileHandle.standardError.write(Data(("adapted to \(file.dialogues) dialogues (\(file.examples.count) turns) of "
            + "\(persona) in " + String(format: "%.1f", Date().timeIntervalSince(start)) + " s\n").utf8))
        return (loaded, adapted, file.persona)
    }
}

/// Generates one response for a history, as text. With a re-ranker, the beam's n-best hypotheses are
/// re-ranked by persona consistency C (ties by beam score); `log` then gets one line per hypothesis.
func respond(_ loaded: LoadedDialogueModel, _ parameters: Parameters, history: [String], persona: [String],
             options: GenerationOptions, reranker: ConsistencyReranker? = nil, log: ((String) -> Void)? = nil) -> String {
    let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
    let source = encoder.source(history: history, persona: persona)
    let hypotheses = loaded.model.generate(parameters: parameters, source: source, strategy: options.strategy,
                                           options: DecodingOptions(seed: options.seed))       // best first
    let texts = hypotheses.map { Tokenizer().detokenize(loaded.vocabulary.decode($0.tokens)) }
    guard let reranker else { return texts[0] }
    let (best, scored) = reranker.rerank(zip(texts, hypotheses).map { ($0, $1.score) }, persona: persona)
    for (i, text) in texts.enumerated() {
        let labels = scored[i].labels.map { String($0.description.prefix(1).uppercased()) }.joined()
        log?("\(i == best ? "*" : " ") beam \(i + 1) | score " + String(format: "%.3f", hypotheses[i].score)
             + " | C " + String(format: "%+d", scored[i].score) + " \(labels) | \(text)")
    }
    return texts[best]
}

/// `paml chat`: talk with a (persona-adapted) model in the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the dialogue model, adapted to a persona from a few of its dialogues.",
        discussion: "Type a line and press return; an empty line or end of input quits. Default model: Checkpoints/paml."
    )

    @OptionGroup var options: GenerationOptions

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        var history: [String] = []
        print("[\(loaded.config.system.rawValue) model from \(options.checkpoint); empty line to quit]")
        while true {
            print("you> ", terminator: "")
            fflush(stdout)
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, options: options,
                                 reranker: reranker, log: { print("     \($0)") })
            history.append(answer)
            print("bot> \(answer)")
        }
    }
}

/// `paml generate`: one response per input line (each line is the partner's turn of a running dialogue,
/// or with --independent a separate one-turn history).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate responses for input lines (stdin or --input), optionally persona-adapted."
    )

    @OptionGroup var options: GenerationOptions
    @Option(help: "File of input turns, one a line (default: standard input).") var input: String?
    @Flag(help: "Treat every line as its own dialogue instead of one running dialogue.") var independent = false
    @Flag(help: "With --rerank-nli: print every beam hypothesis with its score, C and NLI labels to standard error.")
    var showBeam = false

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        let text = try input.map { try String(contentsOfFile: $0, encoding: .utf8) }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var history: [String] = []
        for line in text.split(separator: "\n").map(String.init) where !line.isEmpty {
            if independent { history = [] }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, options: options, reranker: reranker,
                                 log: showBeam ? { FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8)) } : nil)
            history.append(answer)
            print(answer)
        }
    }
}

/// `paml adapt`: save the persona-adapted weights as a checkpoint of their own.
struct AdaptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapt",
        abstract: "Adapt a dialogue model to a persona (k-shot SGD) and save the adapted checkpoint."
    )

    @OptionGroup var options: GenerationOptions
    @Option(help: "Folder for the adapted checkpoint.") var out: String

    func validate() throws {
        if options.persona == nil { throw ValidationError("--persona FILE is required for adapt") }
    }

    func run() throws {
        let (loaded, parameters, _) = try options.loadAdapted()
        let folder = URL(fileURLWithPath: out)
        try Checkpoint.save(parameters: parameters, config: loaded.config, kind: "dialogue", to: folder,
                            metadata: ["adaptedFrom": options.checkpoint, "persona": options.persona ?? "",
                                       "adaptSteps": "\(options.adaptSteps)", "adaptLr": "\(options.adaptLr)",
                                       "adaptGradientClip": "\(options.adaptGradientClip)"])
        try loaded.vocabulary.save(to: folder.appendingPathComponent("vocab.txt"))
        print("saved adapted model to \(out)")
    }
}
