import Autograd
import Dialogue
import Foundation
import MetaLearning
import Metrics
import NLI
import NN
import Tensor
import Text

/// Settings of the k-shot experiment (PAML's Table 1 rows and the k-shot curve); saved next to its output.
/// Paths are as the command resolved them.
public struct KShotExperimentConfig: Codable, Sendable {
    /// Corpora folder.
    public var data: String
    public var dataSeed: UInt64 = 0
    public var dialogue: String
    public var dialoguePersona: String?
    public var paml: String
    /// The equal-compute control (the Dialogue model trained on instead of meta-trained).
    public var control: String?
    public var shots: [Int] = [0, 1, 3, 5, 10]
    /// Meta-test personas used (nil: all).
    public var personas: Int?
    public var heldOut = 3
    public var adaptSteps = 5
    public var adaptLr: Float = 0.01
    public var adaptGradientClip: Float = 2
    /// Candidate adaptation rates chosen per system and k on meta-valid (empty: `adaptLr`).
    public var tuneLr: [Float] = []
    public var tunePersonas = 10
    /// Turns per held-out dialogue whose beam-5 responses are scored by BLEU and C.
    public var bleuTurns = 2
    /// NLI checkpoint and MiniLM folder for C (nil: C not measured).
    public var nliCheckpoint: String?
    public var minilm: String?

    public init(data: String, dialogue: String, paml: String) {
        self.data = data
        self.dialogue = dialogue
        self.paml = paml
    }

    public func validate() throws {
        try KShotProtocol(shots: shots, steps: adaptSteps, learningRate: adaptLr, gradientClip: adaptGradientClip,
                          maxPersonas: personas, heldOutPerPersona: heldOut).validate()
        for rate in tuneLr { try Check.positive(rate, "tuneLr", upTo: 10) }
        try Check.atLeast(tunePersonas, 1, "tunePersonas")
        try Check.within(bleuTurns, 0...1000, "bleuTurns")
    }
}

/// One row of Table 1.
public struct KShotRow: Codable, Sendable {
    public var system: String
    public var k: Int
    public var learningRate: Float?
    public var result: KShotProtocol.Result?
    public var bleu: Double?
    public var consistency: Double?
}

public struct KShotExperimentResult: Codable, Sendable {
    public var table: [KShotRow]
    public var curves: [String: [KShotProtocol.Result]]
    /// Adaptation rate used per system at each k.
    public var rates: [String: [Float]]
    /// Every scored response as a `paml score` transcript line (JSON).
    public var responses: [String]
    public var seconds: Double
}

/// `paml experiment kshot`: for each meta-test persona and each of its first `heldOut` dialogues, adapt on k of
/// its other dialogues and score the held-out one (perplexity; BLEU and C on the first `bleuTurns` turns).
public struct KShotExperiment {
    public var config: KShotExperimentConfig
    public init(config: KShotExperimentConfig) { self.config = config }

    public func run(progress: (String) -> Void) throws -> KShotExperimentResult {
        try config.validate()
        let started = Date()
        let dataset = try PersonaMetaDataset.load(root: CorpusRoot(explicit: config.data), seed: config.dataSeed).dataset
        let scorer = try config.nliCheckpoint.map { nli in
            ConsistencyScorer(predictor: try NLIModel(checkpoint: URL(fileURLWithPath: nli), pretrained: URL(fileURLWithPath: config.minilm ?? "")))
        }
        let personaSentences = Dictionary(uniqueKeysWithValues: dataset.tasks(in: .test).map { task in
            (task.id, task.dialogues.map(\.persona))
        })
        let maxShots = config.shots.max() ?? 0
        var curves: [String: [KShotProtocol.Result]] = [:]
        var table: [KShotRow] = []
        var humanResponses: [(utterance: String, persona: [String])] = []
        // Every scored response as a `paml score` transcript line, so C can be recomputed with any NLI model.
        var transcript: [[String: Any]] = []

        var chosenRates: [String: [Float]] = [:]
        /// The adaptation learning rate of one system at k shots: the fixed --adapt-lr, or the best of --tune-lr
        /// by k-shot perplexity on the meta-valid config.personas `valid`.
        func learningRate(_ name: String, _ loaded: DialogueCheckpoint, valid: [EncodedPersona], k: Int) throws -> Float {
            guard !config.tuneLr.isEmpty, k > 0 else { return config.adaptLr }
            var best = (rate: config.tuneLr[0], perplexity: Double.infinity)
            for rate in config.tuneLr {
                let probe = KShotProtocol(shots: [k], steps: config.adaptSteps, learningRate: rate, gradientClip: config.adaptGradientClip,
                                          maxPersonas: config.tunePersonas,
                                          heldOutPerPersona: 1)
                let perplexity = try probe.evaluate(model: loaded.model, parameters: loaded.parameters, personas: valid, k: k).perplexity
                progress(String(format: "%@: meta-valid %d-shot perplexity %.2f at adaptation lr %g", name, k, perplexity, rate))
                if perplexity < best.perplexity { best = (rate, perplexity) }
            }
            return best.rate
        }

        func measure(_ name: String, _ loaded: DialogueCheckpoint, ks: [Int], tableK: Int, adapted: Bool) throws {
            let corpus = PersonaCorpus(dataset: dataset, encoder: ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format))
            // Same personas for every k: those with enough dialogues for the largest k.
            let testPersonas = (corpus.personas[.test] ?? []).filter { $0.dialogues.count > maxShots }
            let validPersonas = (corpus.personas[.valid] ?? []).filter { $0.dialogues.count > maxShots }
            guard !testPersonas.isEmpty, !validPersonas.isEmpty else {
                let most = (corpus.personas[.test] ?? []).map(\.dialogues.count).max() ?? 0
                throw ConfigError(field: "shots", value: "\(maxShots)", allowed: "below the dialogue count of some meta-test and meta-valid "
                                  + "persona (the most a meta-test persona has is \(most)); nothing was written")
            }
            for k in ks {
                let rate = adapted ? try learningRate(name, loaded, valid: validPersonas, k: k) : config.adaptLr
                if adapted { chosenRates[name, default: []].append(rate) }
                let kshot = KShotProtocol(shots: ks, steps: config.adaptSteps, learningRate: rate, gradientClip: config.adaptGradientClip,
                                          maxPersonas: config.personas,
                                          heldOutPerPersona: config.heldOut)
                var hypotheses: [String] = [], references: [String?] = []
                var responses: [(utterance: String, persona: [String])] = []
                let inspect: ((Parameters, EncodedPersona, Int) throws -> Void)? = k == tableK && config.bleuTurns > 0 ? { adapted, persona, held in
                    let sentences = personaSentences[persona.id]?[held] ?? []
                    for example in persona.dialogues[held].prefix(config.bleuTurns) {
                        let best = loaded.model.generate(parameters: adapted, source: example.source, strategy: .beam(size: 5))[0]
                        let hypothesis = loaded.vocabulary.decode(best.tokens).joined(separator: " ")
                        let reference = loaded.vocabulary.decode(example.response).joined(separator: " ")
                        hypotheses.append(hypothesis)
                        references.append(reference)
                        responses.append((hypothesis, sentences))
                        transcript.append(["speaker": "\(name) k=\(k)", "text": hypothesis, "persona": sentences])
                        if name == "Dialogue" {
                            humanResponses.append((reference, sentences))
                            transcript.append(["speaker": "Human", "text": reference, "persona": sentences])
                        }
                    }
                } : nil
                let t0 = Date()
                let result = try kshot.evaluate(model: loaded.model, parameters: loaded.parameters, personas: testPersonas, k: k,
                                            inspect: inspect)
                curves[name, default: []].append(result)
                let bleu = inspect == nil ? nil : BLEU().corpusScore(hypotheses: hypotheses, references: [references])   // one reference stream
                let consistency = inspect == nil ? nil : scorer.map { ConsistencyScorer.meanScore($0.score(responses)) }
                if k == tableK {
                    table.append(KShotRow(system: name, k: k, learningRate: adapted && k > 0 ? rate : nil, result: result,
                                     bleu: bleu?.score, consistency: consistency))
                }
                progress(String(format: "%@ k=%d: ppl %.2f over %d tokens, %d personas, %d held-out dialogues%@%@ (%.0fs)",
                             name, k, result.perplexity, result.tokens, result.personas, result.heldOutDialogues,
                             bleu.map { String(format: ", BLEU %.2f", $0.score) } ?? "",
                             consistency.map { String(format: ", C %.3f", $0) } ?? "", Date().timeIntervalSince(t0)))
            }
        }

        if let dialoguePersona = config.dialoguePersona {
            try measure("Dialogue+Persona", try DialogueCheckpoint(folder: URL(fileURLWithPath: dialoguePersona)), ks: [0], tableK: 0, adapted: false)
        }
        let dialogueModel = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.dialogue))
        try measure("Dialogue", dialogueModel, ks: [0], tableK: 0, adapted: false)
        try measure("Dialogue+Fine-tuning", dialogueModel, ks: config.shots, tableK: maxShots, adapted: true)
        if let control = config.control {
            try measure(Self.controlName, try DialogueCheckpoint(folder: URL(fileURLWithPath: control)), ks: config.shots, tableK: maxShots, adapted: true)
        }
        let pamlModel = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.paml))
        try measure("PAML", pamlModel, ks: config.shots, tableK: maxShots, adapted: true)
        if let scorer, !humanResponses.isEmpty {
            table.append(KShotRow(system: "Human", k: 0, consistency: ConsistencyScorer.meanScore(scorer.score(humanResponses))))
        }
        // Written only after every measurement succeeded and is finite, so a failed run never replaces a table.
        if let bad = curves.first(where: { $0.value.contains { !$0.perplexity.isFinite } }) {
            throw TrainingError.nonFinite(what: "\(bad.key)'s perplexity", step: 0, hint: "no table was written")
        }
        let lines = try transcript.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        return KShotExperimentResult(table: table, curves: curves, rates: chosenRates, responses: lines,
                                     seconds: Date().timeIntervalSince(started))
    }

    public static let controlName = "Dialogue+Fine-tuning (equal compute)"
    /// The systems with a k-shot curve, in table and plot order.
    public static let adaptedSystems = ["Dialogue+Fine-tuning", controlName, "PAML"]

    /// paml.md, paml_kshot.json, paml_kshot.svg and paml_responses.jsonl, by file name.
    public static func reportFiles(config: KShotExperimentConfig, result: KShotExperimentResult, command: String) throws -> [String: Data] {
        let (table, curves, rates, seconds) = (result.table, result.curves, result.rates, result.seconds)
        let lrNote = config.tuneLr.isEmpty ? "fixed by --adapt-lr"
            : "chosen for each system and k from \(config.tuneLr.map { "\($0)" }.joined(separator: ", ")) by meta-valid k-shot perplexity on \(config.tunePersonas) personas, one held-out dialogue each; see the lr table below"
        var md = """
        # PAML k-shot persona adaptation (Table 1 and k-shot curve)

        Measured by this project, not copied from the paper. Data: the persona meta-dataset built from ConvAI2 \
        validation dialogues and Synthetic-Persona-Chat valid/test (`paml data stats`, data seed \(config.dataSeed)); \
        the Persona-Chat train split is not available, so the paper's figures are not comparable to these. Split: meta-test \
        personas (disjoint from meta-train). Protocol: each persona's first \(config.heldOut) dialogues held out in turn; \
        adaptation on the k following dialogues, \(config.adaptSteps) SGD passes at the learning rate in the table (\(lrNote)), \
        \(config.adaptGradientClip > 0 ? "each gradient clipped to global norm \(config.adaptGradientClip)" : "gradients not clipped"). \
        BLEU: sacreBLEU-compatible corpus BLEU (13a, exp smoothing) of beam-5 responses on the first \(config.bleuTurns) turns of \
        each held-out dialogue. C: mean over those responses of C(u) = sum over the held-out dialogue's persona sentences \
        of +1 entailment / 0 neutral / -1 contradiction (\(config.nliCheckpoint.map { "NLI model `\($0)`" } ?? "not measured in this run")); \
        the Human row scores the human responses of the same turns. Every scored response is in `paml_responses.jsonl` \
        (speaker = system and k), so `paml score` can rescore C with another NLI model.

        \(config.control.map { "\(Self.controlName): the Dialogue model of `\($0)`, trained on with supervision for about as many gradient computations as PAML's meta-training, then adapted by the same protocol (does PAML win by meta-learning, or by more training?).\n" } ?? "")
        Command: `\(command)` (\(formatDuration(seconds)) on this machine).

        | system | k | adaptation lr | PPL | BLEU | C | personas | held-out dialogues | tokens |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|

        """
        func cell(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "n/a" }
        for row in table {
            md += "| \(row.system) | \(row.k) | " + (row.learningRate.map { "\($0)" } ?? "-") + " | "
                + cell(row.result?.perplexity, "%.2f") + " | " + cell(row.bleu, "%.2f") + " | "
                + cell(row.consistency, "%.3f") + " | " + (row.result.map { "\($0.personas) | \($0.heldOutDialogues) | \($0.tokens)" }
                    ?? "- | - | -") + " |\n"
        }
        md += "\n## Perplexity after k-shot adaptation\n\n| system | " + config.shots.map { "k=\($0)" }.joined(separator: " | ") + " |\n|---|"
            + config.shots.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for name in Self.adaptedSystems {
            guard let curve = curves[name] else { continue }
            md += "| \(name) | " + curve.map { String(format: "%.2f", $0.perplexity) }.joined(separator: " | ") + " |\n"
        }
        md += "\nAdaptation learning rate used at each k (k = 0 adapts nothing):\n\n| system | "
            + config.shots.map { "k=\($0)" }.joined(separator: " | ") + " |\n|---|" + config.shots.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for name in Self.adaptedSystems {
            guard let used = rates[name] else { continue }
            md += "| \(name) | " + zip(config.shots, used).map { $0.0 == 0 ? "-" : "\($0.1)" }.joined(separator: " | ") + " |\n"
        }
        md += "\n![k-shot curve](paml_kshot.svg)\n"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return ["paml.md": Data(md.utf8), "paml_kshot.json": try encoder.encode(curves), "paml_kshot.svg": plot(curves: curves),
                "paml_responses.jsonl": Data((result.responses.joined(separator: "\n") + "\n").utf8)]
    }

    /// The k-shot curve; perplexity on a log10 axis (it spans orders of magnitude between systems and k).
    /// Redraws paml_kshot.svg from the paml_kshot.json of an earlier run in `folder`.
    public static func replot(in folder: URL) throws {
        let curves = try JSONDecoder().decode([String: [KShotProtocol.Result]].self,
                                              from: TextFile.data(folder.appendingPathComponent("paml_kshot.json")))
        try plot(curves: curves).write(to: folder.appendingPathComponent("paml_kshot.svg"), options: .atomic)
    }

    public static func plot(curves: [String: [KShotProtocol.Result]]) -> Data {
        let series = adaptedSystems.compactMap { name in
            curves[name].map { (name, $0.map { (Double($0.k), log10($0.perplexity)) }) }
        }
        return Data(lineChartSVG(title: "Perplexity after k-shot adaptation (meta-test personas)", xLabel: "k (dialogues of the persona)",
                                 yLabel: "log10 perplexity", series: series).utf8)
    }
}
