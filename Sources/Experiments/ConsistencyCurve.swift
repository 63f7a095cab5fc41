import Autograd
import Dialogue
import Foundation
import MetaLearning
import Metrics
import NLI
import NN
import Tensor
import Text

// Consistency C against k (the PAML paper's Figure 2 and Table 1 C column) under the release's test protocol
// (`main_fine_tune.py`): for every meta-test persona and each of its first `heldOut` dialogues, adapt ALL weights
// on k of the persona's other dialogues (SGD lr 0.01, batch 16, 10 passes, no clip, plain NLL; the same for every
// system), then answer EVERY turn of the held-out dialogue (beam 5, 5-20 tokens) and score each answer against the
// held-out dialogue's persona: C(u) = Σ over persona sentences of +1 entailment / 0 neutral / -1 contradiction.
//
// The work is cut into units (system, k, wrong-persona or not, persona, held-out dialogue); each finished unit is
// appended to `<cache>/units.jsonl` at once, so an interrupted run resumes where it stopped and adds no cost to
// the finished units. Intervals resample personas (the units that are independent): 95% percentile bootstrap of
// mean C, and of paired differences between systems over the same personas.
//
// Fact recall: after adapting for the first held-out dialogue of a persona, the model is also asked the corpus's
// questions about each kind of fact that persona states (mined from meta-train dialogues, `PersonaQuestions`); an
// answer recalls the fact when the scorer labels it entailing one of the persona's sentences of that kind.
//
// Control: wrong-persona adaptation adapts on k dialogues of ANOTHER meta-test persona (the next one in order) and
// scores against the TRUE persona. If C rose under it, the scorer or the protocol would be measuring something other
// than persona uptake.

/// A model in the experiment. `adapted` systems are adapted at every k; the others only answer at k = 0.
public struct ConsistencySystem: Codable, Equatable, Sendable {
    public var name: String
    public var checkpoint: String
    public var adapted: Bool

    public init(name: String, checkpoint: String, adapted: Bool) {
        self.name = name
        self.checkpoint = checkpoint
        self.adapted = adapted
    }
}

/// Settings of the experiment; saved next to its output.
public struct ConsistencyCurveConfig: Codable, Sendable, ValidatedConfig {
    public var data: String
    public var dataSeed: UInt64 = 0
    public var systems: [ConsistencySystem]
    public var shots = [0, 1, 3, 5, 10]
    /// Meta-test personas used, the first in order (nil: all).
    public var personas: Int?
    public var heldOut = 8
    /// The release's fine-tuning.
    public var adaptSteps = 10
    public var adaptLr: Float = 0.01
    public var adaptBatch = 16
    public var adaptClip: Float = 0
    public var beam = 5
    /// No n-gram of this length twice in an answer (0: off, as the release; 3 is ParlAI's trigram blocking).
    public var blockNGram = 0
    /// Also answer with no n-gram of this length twice (0: not), from the same adapted weights: a second decoder's
    /// table (ParlAI's trigram blocking, 3) at the cost of decoding only.
    public var alsoBlockNGram = 0
    /// Whether there is a second decoder (one equal to the first adds nothing).
    public var hasSecondDecoder: Bool { alsoBlockNGram > 0 && alsoBlockNGram != blockNGram }
    /// Systems that also get the wrong-persona control, at these k.
    public var wrongPersonaSystems: [String] = []
    public var wrongPersonaShots = [3, 10]
    public var nliCheckpoint: String
    public var minilm: String
    /// Folder of finished units (resumable).
    public var cache: String
    /// Persona resamples per interval (the plan: 10,000).
    public var resamples = 10_000
    /// Ask the fact-recall probe's questions after the first held-out dialogue's adaptation.
    public var factRecall = true

    public init(data: String, systems: [ConsistencySystem], nliCheckpoint: String, minilm: String, cache: String) {
        self.data = data
        self.systems = systems
        self.nliCheckpoint = nliCheckpoint
        self.minilm = minilm
        self.cache = cache
    }

    public var protocolSettings: KShotProtocol {
        KShotProtocol(shots: shots, steps: adaptSteps, learningRate: adaptLr, batchSize: adaptBatch, gradientClip: adaptClip,
                      maxPersonas: personas, heldOutPerPersona: heldOut)
    }

    public func validate() throws {
        try protocolSettings.validate()
        guard !systems.isEmpty, Set(systems.map(\.name)).count == systems.count else {
            throw ConfigError(field: "systems", value: "\(systems.map(\.name))", allowed: "one or more systems with distinct names")
        }
        try Check.within(beam, 1...64, "beam")
        try Check.within(blockNGram, 0...20, "blockNGram")
        try Check.within(alsoBlockNGram, 0...20, "alsoBlockNGram")
        try Check.within(resamples, 2...1_000_000, "resamples")
        for name in wrongPersonaSystems where !systems.contains(where: { $0.name == name && $0.adapted }) {
            throw ConfigError(field: "wrongPersonaSystems", value: name, allowed: "the name of an adapted system")
        }
        guard wrongPersonaSystems.isEmpty || wrongPersonaShots.allSatisfy({ $0 > 0 && shots.contains($0) }) else {
            throw ConfigError(field: "wrongPersonaShots", value: "\(wrongPersonaShots)", allowed: "k > 0 that are also in shots")
        }
    }
}

/// One finished unit: every answer of one held-out dialogue after one adaptation.
public struct ConsistencyUnit: Codable, Sendable {
    public var system: String
    public var k: Int
    public var wrongPersona: Bool
    public var persona: String
    public var heldOut: Int
    /// Where the held-out dialogue comes from (convai2-* = written by people, spc-* = synthetic).
    public var origin: String
    public var answers: [String]
    public var references: [String]
    public var scores: [Int]
    /// Negative log-likelihood and tokens of the held-out dialogue's human responses (perplexity).
    public var nll: Double
    public var tokens: Int
    /// The fact-recall probe's answers (first held-out dialogue of a persona only).
    public var probes: [ProbeAnswer]?
    /// The second decoder's answers and their C (`alsoBlockNGram`).
    public var blockedAnswers: [String]?
    public var blockedScores: [Int]?

    public var key: String { Self.key(system: system, k: k, wrongPersona: wrongPersona, persona: persona, heldOut: heldOut) }
    public static func key(system: String, k: Int, wrongPersona: Bool, persona: String, heldOut: Int) -> String {
        "\(system)|\(k)|\(wrongPersona ? "wrong" : "own")|\(persona)|\(heldOut)"
    }
    public var isHuman: Bool { origin.hasPrefix("convai2") }
}

/// One answer to a fact-recall question.
public struct ProbeAnswer: Codable, Sendable {
    public var topic: String
    public var question: String
    public var answer: String
    /// The scorer labels the answer entailing / contradicting one of the persona's sentences of the topic.
    public var recalled: Bool
    public var contradicted: Bool
}

/// The share of fact-recall questions answered with the persona's fact (interval over personas).
public struct FactRecallCell: Codable, Sendable {
    public var system: String
    public var k: Int
    public var wrongPersona: Bool
    public var recalled: BootstrapInterval
    public var contradicted: BootstrapInterval
    public var questions: Int
    public var personas: Int
}

/// Mean C (with its interval over personas) of one cell.
public struct ConsistencyCell: Codable, Sendable {
    public var system: String
    public var k: Int
    public var wrongPersona: Bool
    /// "all", "human" or "synthetic" held-out dialogues.
    public var subset: String
    public var c: BootstrapInterval
    public var responses: Int
    public var personas: Int
    /// Of the human responses after adaptation (nil for the Human row).
    public var perplexity: Double?
    /// sacreBLEU-compatible corpus BLEU of the answers against the human responses (interval over personas), and
    /// corpus distinct-1 / distinct-2 of the answers (nil for the Human row).
    public var bleu: BootstrapInterval?
    public var distinct: [Double]?
}

/// A paired difference over the same personas and dialogues.
public struct ConsistencyDifference: Codable, Sendable {
    public var a: String
    public var b: String
    public var k: Int
    public var subset: String
    public var difference: BootstrapInterval
}

public struct ConsistencyCurveReport: Codable, Sendable {
    public var command: String
    public var config: ConsistencyCurveConfig
    public var signature: NLISignature?
    public var cells: [ConsistencyCell]
    public var differences: [ConsistencyDifference]
    public var factRecall: [FactRecallCell]?
    /// The same analysis for the second decoder's answers.
    public var blockedCells: [ConsistencyCell]?
    public var blockedDifferences: [ConsistencyDifference]?
    public var seconds: Double
}

/// `paml experiment consistency`.
public struct ConsistencyCurve {
    public var config: ConsistencyCurveConfig
    public init(config: ConsistencyCurveConfig) { self.config = config }

    public static let human = "Human"

    /// Runs every unit not yet in the cache, then analyses all of them.
    public func run(command: String, progress: (String) -> Void) throws -> ConsistencyCurveReport {
        try config.validate()
        let started = Date()
        let dataset = try PersonaMetaDataset.load(root: CorpusRoot(explicit: config.data), seed: config.dataSeed).dataset
        let tasks = Array(dataset.tasks(in: .test).prefix(config.personas ?? Int.max))
        let maxShots = config.shots.max() ?? 0
        if let short = tasks.first(where: { $0.dialogues.count < maxShots + 1 }) {
            throw ConfigError(field: "shots", value: "\(maxShots)", allowed: "at most \(short.dialogues.count - 1) (persona \(short.id) has \(short.dialogues.count) dialogues)")
        }
        let model = try NLIModel(checkpoint: URL(fileURLWithPath: config.nliCheckpoint), pretrained: URL(fileURLWithPath: config.minilm))
        let scorer = ConsistencyScorer(predictor: model)
        let questions = config.factRecall ? PersonaQuestions.mine(dataset.tasks(in: .train)) : []
        progress("fact-recall probe: \(questions.count) questions mined from meta-train dialogues")
        let cacheFolder = URL(fileURLWithPath: config.cache)
        try FileManager.default.createDirectory(at: cacheFolder, withIntermediateDirectories: true)
        let cacheFile = cacheFolder.appendingPathComponent("units.jsonl")
        var units = try Self.readUnits(cacheFile)
        var done = Set(units.map(\.key))
        progress("\(units.count) finished units in \(cacheFile.path)")
        try checkCacheSettings(cacheFolder.appendingPathComponent("settings.json"), scorer: model.signature?.weights ?? "unrecorded")
        let appender = try UnitAppender(cacheFile)

        for system in config.systems {
            let loaded = try DialogueCheckpoint(folder: URL(fileURLWithPath: system.checkpoint))
            let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
            let encoded = tasks.map { task in task.dialogues.map { $0.examples.map(encoder.encode) } }
            // Corpus placeholders ("[user 2's name]") are never said: their brackets are banned.
            let banned = Set(["[", "]"].filter(loaded.vocabulary.contains).map(loaded.vocabulary.id))
            let decoding = DecodingOptions(bannedTokens: banned, blockRepeatedNGram: config.blockNGram)
            let secondDecoding = DecodingOptions(bannedTokens: banned, blockRepeatedNGram: config.alsoBlockNGram)
            var jobs: [(k: Int, wrong: Bool)] = system.adapted ? config.shots.map { ($0, false) } : [(0, false)]
            if config.wrongPersonaSystems.contains(system.name) { jobs += config.wrongPersonaShots.map { ($0, true) } }
            for (k, wrong) in jobs {
                let total = tasks.count * config.heldOut
                var finished = 0
                let t0 = Date()
                for (p, task) in tasks.enumerated() {
                    for held in 0..<min(config.heldOut, task.dialogues.count) {
                        let key = ConsistencyUnit.key(system: system.name, k: k, wrongPersona: wrong, persona: task.id, heldOut: held)
                        finished += 1
                        if done.contains(key) { continue }
                        // Support: the k dialogues after the held-out one (wrapping), of this persona or, for the
                        // control, of the next persona.
                        let source = wrong ? (p + 1) % tasks.count : p
                        let dialogues = encoded[source]
                        let n = dialogues.count
                        let start = wrong ? held : held + 1
                        let support = (0..<k).flatMap { dialogues[(start + $0) % n] }
                        let adapted = try config.protocolSettings.adapt(model: loaded.model, parameters: loaded.parameters, support: support)
                        let side = task.dialogues[held]
                        let examples = encoded[p][held]
                        func answer(_ source: [Int], _ options: DecodingOptions) -> String {
                            loaded.vocabulary.decode(loaded.model.generate(parameters: adapted, source: source, strategy: .beam(size: config.beam),
                                                                           options: options)[0].tokens).joined(separator: " ")
                        }
                        let answers = examples.map { answer($0.source, decoding) }
                        let references = examples.map { loaded.vocabulary.decode($0.response).joined(separator: " ") }
                        let scores = scorer.score(answers.map { ($0, side.persona) }).map(\.score)
                        let fit = perplexity(loaded.model, adapted, batches: makeBatches(examples, batchSize: 64, shuffleSeed: nil))
                        var unit = ConsistencyUnit(system: system.name, k: k, wrongPersona: wrong, persona: task.id, heldOut: held,
                                                   origin: side.source, answers: answers, references: references, scores: scores,
                                                   nll: fit.nll, tokens: fit.tokens)
                        if config.hasSecondDecoder {
                            let blocked = examples.map { answer($0.source, secondDecoding) }
                            unit.blockedAnswers = blocked
                            unit.blockedScores = scorer.score(blocked.map { ($0, side.persona) }).map(\.score)
                        }
                        if config.factRecall && held == 0 {
                            let asked = Self.askProbes(PersonaQuestions.probes(persona: side.persona, questions: questions),
                                                       predictor: model) { question in
                                answer(encoder.source(history: [question], persona: side.persona), decoding)
                            }
                            unit.probes = asked.isEmpty ? nil : asked   // a persona stating no probed topic adds no persona
                        }
                        try appender.append(unit)
                        units.append(unit)
                        done.insert(key)
                        if finished % 10 == 0 || finished == total {
                            let rate = Date().timeIntervalSince(t0) / Double(max(1, finished))
                            progress(String(format: "%@ k=%d%@: %d/%d dialogues | %.1f s each | mean C so far %.3f", system.name, k,
                                            wrong ? " (wrong persona)" : "", finished, total, rate,
                                            Self.meanC(units.filter { $0.system == system.name && $0.k == k && $0.wrongPersona == wrong })))
                        }
                    }
                }
            }
        }
        // The human responses of the same held-out dialogues, scored once.
        for task in tasks {
            for held in 0..<min(config.heldOut, task.dialogues.count) {
                let key = ConsistencyUnit.key(system: Self.human, k: 0, wrongPersona: false, persona: task.id, heldOut: held)
                if done.contains(key) { continue }
                let side = task.dialogues[held]
                let references = side.examples.map(\.response)
                let unit = ConsistencyUnit(system: Self.human, k: 0, wrongPersona: false, persona: task.id, heldOut: held,
                                           origin: side.source, answers: references, references: references,
                                           scores: scorer.score(references.map { ($0, side.persona) }).map(\.score), nll: 0, tokens: 0)
                try appender.append(unit)
                units.append(unit)
                done.insert(key)
            }
        }
        let wanted = Set(tasks.map(\.id))
        let analysed = units.filter { wanted.contains($0.persona) && $0.heldOut < config.heldOut }
        let (cells, differences) = analyse(analysed)
        var report = ConsistencyCurveReport(command: command, config: config, signature: model.signature, cells: cells,
                                            differences: differences, factRecall: config.factRecall ? analyseFactRecall(analysed) : nil,
                                            seconds: Date().timeIntervalSince(started))
        if config.hasSecondDecoder { (report.blockedCells, report.blockedDifferences) = analyse(Self.secondDecoder(analysed)) }
        return report
    }

    /// The units as the second decoder answered (people's lines are the same under both).
    static func secondDecoder(_ units: [ConsistencyUnit]) -> [ConsistencyUnit] {
        units.compactMap { unit in
            if unit.system == human { return unit }
            guard let answers = unit.blockedAnswers, let scores = unit.blockedScores else { return nil }
            var blocked = unit
            (blocked.answers, blocked.scores) = (answers, scores)
            return blocked
        }
    }

    /// Answers every probe with `answer` and labels each answer against the persona's sentences of its topic.
    static func askProbes(_ probes: [PersonaQuestions.Probe], predictor: any NLIPredictor,
                          answer: (String) -> String) -> [ProbeAnswer] {
        let answers = probes.map { answer($0.question) }
        let pairs = zip(probes, answers).flatMap { probe, text in probe.sentences.map { (premise: text, hypothesis: $0) } }
        var labels = predictor.predict(pairs)[...]
        return zip(probes, answers).map { probe, text in
            let own = labels.prefix(probe.sentences.count)
            labels = labels.dropFirst(probe.sentences.count)
            return ProbeAnswer(topic: probe.topic, question: probe.question, answer: text,
                               recalled: own.contains(.entailment), contradicted: own.contains(.contradiction))
        }
    }

    /// Fact-recall rate per (system, k, control), intervals resampling personas.
    public func analyseFactRecall(_ units: [ConsistencyUnit]) -> [FactRecallCell] {
        struct Key: Hashable { var system: String; var k: Int; var wrong: Bool }
        let probed = units.filter { $0.probes != nil }
        let groups = Dictionary(grouping: probed) { Key(system: $0.system, k: $0.k, wrong: $0.wrongPersona) }
        let systemOrder = config.systems.map(\.name)
        return groups.keys.sorted { (systemOrder.firstIndex(of: $0.system) ?? 99, $0.k, $0.wrong ? 1 : 0)
                                    < (systemOrder.firstIndex(of: $1.system) ?? 99, $1.k, $1.wrong ? 1 : 0) }.map { key in
            let chosen = groups[key]!
            let personas = Array(Set(chosen.map(\.persona))).sorted()
            let perPersona = Dictionary(grouping: chosen, by: \.persona).mapValues { $0.flatMap { $0.probes ?? [] } }
            func rate(_ hit: (ProbeAnswer) -> Bool) -> BootstrapInterval {
                Bootstrap.ratio(RatioSample(numerators: personas.map { Double(perPersona[$0]!.filter(hit).count) },
                                            denominators: personas.map { Double(perPersona[$0]!.count) }),
                                resamples: config.resamples)
            }
            return FactRecallCell(system: key.system, k: key.k, wrongPersona: key.wrong, recalled: rate(\.recalled),
                                  contradicted: rate(\.contradicted), questions: chosen.reduce(0) { $0 + ($1.probes?.count ?? 0) },
                                  personas: personas.count)
        }
    }

    /// The paper's Figure 2 (release plot/kshot.jpg, read off the plot, ±0.01) and Table 1 C values: for the table
    /// only, beside ours, never as ours.
    public static let paperCurve: [String: [Int: Double]] = [
        "PAML": [0: -0.05, 1: 0.02, 3: 0.10, 5: 0.10, 10: 0.18],
        "Dialogue+Fine-tuning": [0: -0.03, 1: -0.02, 3: -0.02, 5: -0.02, 10: 0.00],
        "Dialogue+Persona": [0: 0.07], "Human": [0: 0.33],
    ]

    /// paml-consistency.md, .json and .svg.
    public static func reportFiles(_ report: ConsistencyCurveReport) throws -> [String: Data] {
        let c = report.config
        func cell(_ system: String, _ k: Int, wrong: Bool = false, subset: String = "all") -> ConsistencyCell? {
            report.cells.first { $0.system == system && $0.k == k && $0.wrongPersona == wrong && $0.subset == subset }
        }
        func differenceRow(_ d: ConsistencyDifference) -> String {
            String(format: "| %@ − %@ | %d | %@ | %+.3f [%+.3f, %+.3f]%@ |\n", d.a, d.b, d.k, d.subset, d.difference.estimate,
                   d.difference.lower, d.difference.upper, d.difference.excludes(0) ? " (real)" : "")
        }
        func show(_ x: ConsistencyCell?) -> String {
            x.map { String(format: "%.3f [%.3f, %.3f] (n = %d)", $0.c.estimate, $0.c.lower, $0.c.upper, $0.responses) } ?? "—"
        }
        var md = """
        # Consistency C against k (PAML, Figure 2 protocol)

        Measured by this project. Command: `\(report.command)` (\(formatDuration(report.seconds)) for the units this run \
        computed; finished units are cached in `\(c.cache)`). Data: the persona meta-dataset (data seed \(c.dataSeed)), \
        meta-test split, \(c.personas.map { "the first \($0)" } ?? "all") personas, the first \(c.heldOut) dialogues of each \
        held out in turn. Protocol (the release's `main_fine_tune.py`): adapt all weights on the k dialogues that follow \
        the held-out one, SGD lr \(c.adaptLr), batch \(c.adaptBatch), \(c.adaptSteps) passes, \(c.adaptClip > 0 ? "clip \(c.adaptClip)" : "no clip"), \
        plain NLL; answer every turn (beam \(c.beam), 5-20 tokens); C(u) = Σ over the held-out dialogue's persona \
        sentences of +1 entail / 0 neutral / -1 contradict, averaged over answers. \
        Corpus placeholders ("[user 2's name]") are banned in decoding\(c.blockNGram > 0 ? "; no \(c.blockNGram)-gram repeats within an answer" : ""). Brackets: 95% bootstrap over \
        personas (\(c.resamples) resamples). Scorer: \(report.signature.map { "`\($0.checkpoint)` \($0.weights)" } ?? "?").
        The paper's numbers (Persona-Chat, its own DNLI scorer; read off the release's plot, ±0.01) stand beside ours \
        for the shape of the curve only: data and scorer differ.

        ## C against k (all held-out dialogues)

        | system | \(c.shots.map { "k = \($0)" }.joined(separator: " | ")) |
        |---|\(c.shots.map { _ in "---" }.joined(separator: "|"))|

        """
        let names = [human] + c.systems.map(\.name)
        for name in names {
            let ks = report.cells.contains { $0.system == name && $0.k > 0 } ? c.shots : [0]
            md += "| \(name) | " + c.shots.map { k in ks.contains(k) ? show(cell(name, k)) : "" }.joined(separator: " | ") + " |\n"
            if let paper = paperCurve[name] {
                md += "| \(name), the paper's | " + c.shots.map { k in paper[k].map { String(format: "%.2f", $0) } ?? "" }.joined(separator: " | ") + " |\n"
            }
        }
        for subset in ["human", "synthetic"] {
            md += "\n## \(subset == "human" ? "Human-written (ConvAI2)" : "Synthetic (Synthetic-Persona-Chat)") held-out dialogues\n\n"
            md += "| system | \(c.shots.map { "k = \($0)" }.joined(separator: " | ")) |\n|---|\(c.shots.map { _ in "---" }.joined(separator: "|"))|\n"
            for name in names {
                let ks = report.cells.contains { $0.system == name && $0.k > 0 } ? c.shots : [0]
                md += "| \(name) | " + c.shots.map { k in ks.contains(k) ? show(cell(name, k, subset: subset)) : "" }.joined(separator: " | ") + " |\n"
            }
        }
        if !c.wrongPersonaSystems.isEmpty {
            md += "\n## Control: adaptation on another persona's dialogues, scored against the true persona\n\n| system | k | C own persona | C wrong persona |\n|---|---|---|---|\n"
            for name in c.wrongPersonaSystems {
                for k in c.wrongPersonaShots { md += "| \(name) | \(k) | \(show(cell(name, k))) | \(show(cell(name, k, wrong: true))) |\n" }
            }
        }
        md += "\n## Paired differences (same personas and dialogues; real when the interval excludes 0)\n\n| a − b | k | subset | ΔC [95% CI] |\n|---|---|---|---|\n"
        for d in report.differences {
            md += differenceRow(d)
        }
        md += "\n## Perplexity of the held-out human responses after adaptation\n\n| system | \(c.shots.map { "k = \($0)" }.joined(separator: " | ")) |\n|---|\(c.shots.map { _ in "---" }.joined(separator: "|"))|\n"
        for name in c.systems.map(\.name) {
            md += "| \(name) | " + c.shots.map { k in cell(name, k)?.perplexity.map { String(format: "%.2f", $0) } ?? "" }.joined(separator: " | ") + " |\n"
        }
        md += "\n## BLEU and distinct-1 / distinct-2 of the answers (all held-out dialogues)\n\nBLEU against the human " +
            "response of each turn, `\(bleuMetric.signature(referenceCount: 1))`, 95% interval over personas; distinct-n over all answers.\n\n" +
            "| system | \(c.shots.map { "k = \($0)" }.joined(separator: " | ")) |\n|---|\(c.shots.map { _ in "---" }.joined(separator: "|"))|\n"
        for name in c.systems.map(\.name) {
            md += "| \(name) | " + c.shots.map { k in
                guard let x = cell(name, k), let b = x.bleu, let d = x.distinct else { return "" }
                return String(format: "%.2f [%.2f, %.2f] / %.3f / %.3f", b.estimate, b.lower, b.upper, d[0], d[1])
            }.joined(separator: " | ") + " |\n"
        }
        if let blocked = report.blockedCells, !blocked.isEmpty {
            md += "\n## C against k, decoded with no \(c.alsoBlockNGram)-gram twice in an answer (same adapted weights)\n\n"
            md += "| system | \(c.shots.map { "k = \($0)" }.joined(separator: " | ")) |\n|---|\(c.shots.map { _ in "---" }.joined(separator: "|"))|\n"
            for name in c.systems.map(\.name) {
                md += "| \(name) | " + c.shots.map { k in
                    show(blocked.first { $0.system == name && $0.k == k && !$0.wrongPersona && $0.subset == "all" })
                }.joined(separator: " | ") + " |\n"
            }
            md += "\n| a − b | k | subset | ΔC [95% CI] |\n|---|---|---|---|\n"
            for d in report.blockedDifferences ?? [] where d.subset == "all" {
                md += differenceRow(d)
            }
        }
        if let recall = report.factRecall, !recall.isEmpty {
            md += """

            ## Fact recall (the corpus's questions about each kind of fact the persona states)

            After the adaptation for a persona's first held-out dialogue, each mined question (`paml data questions`) \
            whose topic the persona states is asked alone; recalled = the scorer labels the answer entailing one of the \
            persona's sentences of that topic, contradicted = contradicting one. Brackets: 95% bootstrap over personas.

            | system | k | control | questions | recalled | contradicted |
            |---|---|---|---|---|---|

            """
            for r in recall {
                md += String(format: "| %@ | %d | %@ | %d | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] |\n", r.system, r.k,
                             r.wrongPersona ? "wrong persona" : "", r.questions, r.recalled.estimate, r.recalled.lower,
                             r.recalled.upper, r.contradicted.estimate, r.contradicted.lower, r.contradicted.upper)
            }
        }
        md += "\n![C against k](paml-consistency.svg)\n"
        var series = c.systems.filter(\.adapted).map(\.name).map { name in
            (name, c.shots.compactMap { k in cell(name, k).map { (Double(k), $0.c.estimate) } })
        }
        // The paper's curves, dashed and named as the paper's, for the shape only (other data and scorer).
        let paperNames = ["PAML", "Dialogue+Fine-tuning"].filter { name in c.systems.contains { $0.name == name && $0.adapted } }
        let paperSeries = paperNames.map { name in
            ("\(name), the paper's (Fig. 2)", paperCurve[name]!.sorted { $0.key < $1.key }.map { (Double($0.key), $0.value) })
        }
        series += paperSeries
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return ["paml-consistency.md": Data(md.utf8), "paml-consistency.json": try encoder.encode(report),
                "paml-consistency.svg": Data(lineChartSVG(title: "Consistency C after k-shot adaptation (meta-test personas)",
                                                          xLabel: "k (dialogues of the persona)", yLabel: "mean C", series: series,
                                                          dashed: Set(paperSeries.map(\.0))).utf8)]
    }

    /// The cache holds answers of one protocol, decoder and scorer: a run with other settings is refused instead of
    /// mixing its answers with the cached ones.
    func checkCacheSettings(_ file: URL, scorer: String) throws {
        let settings = ["dataSeed": "\(config.dataSeed)", "adaptSteps": "\(config.adaptSteps)", "adaptLr": "\(config.adaptLr)",
                        "adaptBatch": "\(config.adaptBatch)", "adaptClip": "\(config.adaptClip)", "beam": "\(config.beam)",
                        "blockNGram": "\(config.blockNGram)", "alsoBlockNGram": "\(config.hasSecondDecoder ? config.alsoBlockNGram : 0)", "placeholders": "banned", "scorer": scorer,
                        "factRecall": config.factRecall ? "mined questions v1" : "off"]
        if FileManager.default.fileExists(atPath: file.path) {
            let saved = try JSONDecoder().decode([String: String].self, from: TextFile.data(file))
            if let changed = settings.keys.sorted().first(where: { saved[$0] != settings[$0] }) {
                throw ConfigError(field: "cache", value: config.cache,
                                  allowed: "a cache made with the same settings (\(changed) was \(saved[changed] ?? "unset"), now \(settings[changed]!)); use another --cache")
            }
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(settings).write(to: file, options: .atomic)
    }

    /// The BLEU every table of this project uses (sacreBLEU's defaults: 13a, exp smoothing).
    public static let bleuMetric = BLEU()

    /// Corpus BLEU of the units' answers against their references; the interval resamples personas (their BLEU
    /// statistics add up, so each resample scores the summed statistics).
    static func bleu(_ units: [ConsistencyUnit], personas: [String], resamples: Int) -> BootstrapInterval {
        var perPersona: [String: BLEUStatistics] = [:]
        for unit in units {
            var stats = perPersona[unit.persona] ?? BLEUStatistics(maxOrder: bleuMetric.maxOrder)
            for (answer, reference) in zip(unit.answers, unit.references) {
                stats += bleuMetric.statistics(hypothesis: answer, references: [reference])
            }
            perPersona[unit.persona] = stats
        }
        let ordered = personas.map { perPersona[$0]! }
        return Bootstrap.interval(units: ordered.count, resamples: resamples) { indices in
            var total = BLEUStatistics(maxOrder: bleuMetric.maxOrder)
            for i in indices { total += ordered[i] }
            return bleuMetric.score(total).score
        }
    }

    /// Corpus distinct-1 and distinct-2 of the answers.
    static func distinct(_ units: [ConsistencyUnit]) -> [Double] {
        var accumulator = DistinctAccumulator(orders: [1, 2])
        for unit in units { for answer in unit.answers { accumulator.accumulate(response: answer) } }
        let measured = accumulator.measure()
        return [measured[1]!, measured[2]!]
    }

    static func meanC(_ units: [ConsistencyUnit]) -> Double {
        let n = units.reduce(0) { $0 + $1.scores.count }
        return n == 0 ? 0 : Double(units.reduce(0) { $0 + $1.scores.reduce(0, +) }) / Double(n)
    }

    /// Per-persona sums of C and counts, personas in `order`.
    static func sample(_ units: [ConsistencyUnit], order: [String]) -> RatioSample {
        var sums: [String: (Double, Double)] = [:]
        for u in units {
            let s = sums[u.persona] ?? (0, 0)
            sums[u.persona] = (s.0 + Double(u.scores.reduce(0, +)), s.1 + Double(u.scores.count))
        }
        return RatioSample(numerators: order.map { sums[$0]?.0 ?? 0 }, denominators: order.map { sums[$0]?.1 ?? 0 })
    }

    /// Cells (system, k, control, subset) and the paired differences of every adapted system against the first
    /// adapted system at every k, and of each control against its own-persona cell.
    public func analyse(_ units: [ConsistencyUnit]) -> ([ConsistencyCell], [ConsistencyDifference]) {
        let subsets: [(String, (ConsistencyUnit) -> Bool)] = [("all", { _ in true }), ("human", { $0.isHuman }), ("synthetic", { !$0.isHuman })]
        let personaOrder = Array(Set(units.map(\.persona))).sorted()
        var cells: [ConsistencyCell] = []
        struct CellKey: Hashable { var system: String; var k: Int; var wrong: Bool }
        let groups = Dictionary(grouping: units) { CellKey(system: $0.system, k: $0.k, wrong: $0.wrongPersona) }
        let systemOrder = [Self.human] + config.systems.map(\.name)
        for key in groups.keys.sorted(by: { (systemOrder.firstIndex(of: $0.system) ?? 99, $0.k, $0.wrong ? 1 : 0)
                                          < (systemOrder.firstIndex(of: $1.system) ?? 99, $1.k, $1.wrong ? 1 : 0) }) {
            for (subset, include) in subsets {
                let chosen = groups[key]!.filter(include)
                guard !chosen.isEmpty else { continue }
                let personas = Array(Set(chosen.map(\.persona))).sorted()
                let tokens = chosen.reduce(0) { $0 + $1.tokens }
                let isHuman = key.system == Self.human
                cells.append(ConsistencyCell(system: key.system, k: key.k, wrongPersona: key.wrong, subset: subset,
                                             c: Bootstrap.ratio(Self.sample(chosen, order: personas), resamples: config.resamples),
                                             responses: chosen.reduce(0) { $0 + $1.scores.count }, personas: personas.count,
                                             perplexity: tokens == 0 ? nil : exp(chosen.reduce(0) { $0 + $1.nll } / Double(tokens)),
                                             bleu: isHuman ? nil : Self.bleu(chosen, personas: personas, resamples: config.resamples),
                                             distinct: isHuman ? nil : Self.distinct(chosen)))
            }
        }
        var differences: [ConsistencyDifference] = []
        let adapted = config.systems.filter(\.adapted).map(\.name)
        func paired(_ a: CellKey, _ b: CellKey) {
            guard let ua = groups[a], let ub = groups[b] else { return }
            for (subset, include) in subsets {
                let (fa, fb) = (ua.filter(include), ub.filter(include))
                // Only units both sides have, so the difference is over the same dialogues.
                let common = Set(fa.map { "\($0.persona)|\($0.heldOut)" }).intersection(fb.map { "\($0.persona)|\($0.heldOut)" })
                guard !common.isEmpty else { continue }
                let keep = { (u: ConsistencyUnit) in common.contains("\(u.persona)|\(u.heldOut)") }
                let order = personaOrder.filter { p in common.contains { $0.hasPrefix(p + "|") } }
                let control = a.wrong || b.wrong
                func label(_ c: CellKey) -> String { c.system + (control ? " k=\(c.k)" : "") + (c.wrong ? " wrong persona" : "") }
                differences.append(ConsistencyDifference(
                    a: label(a), b: label(b), k: a.k,
                    subset: subset, difference: Bootstrap.pairedDifference(Self.sample(fa.filter(keep), order: order),
                                                                           Self.sample(fb.filter(keep), order: order),
                                                                           resamples: config.resamples)))
            }
        }
        if let reference = adapted.first {
            for other in adapted.dropFirst() {
                for k in config.shots { paired(CellKey(system: other, k: k, wrong: false), CellKey(system: reference, k: k, wrong: false)) }
            }
        }
        for name in config.wrongPersonaSystems {
            for k in config.wrongPersonaShots {
                paired(CellKey(system: name, k: k, wrong: true), CellKey(system: name, k: 0, wrong: false))
                paired(CellKey(system: name, k: k, wrong: false), CellKey(system: name, k: k, wrong: true))
            }
        }
        return (cells, differences)
    }

    /// The finished units of the cache. A last line cut by an interruption is dropped (and removed from the file,
    /// so the next append starts a clean line); a bad line anywhere else is damage, reported with its number.
    static func readUnits(_ file: URL) throws -> [ConsistencyUnit] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let text = try TextFile.string(file)
        let lines = TextFile.lines(text)
        let decoder = JSONDecoder()
        var units: [ConsistencyUnit] = []
        for (n, line) in lines.enumerated() where !line.isEmpty {
            do {
                units.append(try decoder.decode(ConsistencyUnit.self, from: Data(line.utf8)))
            } catch {
                guard n == lines.count - 1 else {
                    throw TextError(file: file.path, line: n + 1, "not a finished consistency unit; remove the line to recompute it")
                }
                let kept = lines.dropLast().joined(separator: "\n")
                try Data((kept.isEmpty ? "" : kept + "\n").utf8).write(to: file, options: .atomic)
            }
        }
        if !text.isEmpty && !text.hasSuffix("\n") && units.count == lines.count {
            try Data((text + "\n").utf8).write(to: file, options: .atomic)   // a complete last line without its newline
        }
        return units
    }

    /// Appends one JSON line per unit and flushes it, so a finished unit survives an interruption.
    final class UnitAppender {
        let handle: FileHandle
        init(_ file: URL) throws {
            if !FileManager.default.fileExists(atPath: file.path) { FileManager.default.createFile(atPath: file.path, contents: nil) }
            handle = try FileHandle(forWritingTo: file)
            try handle.seekToEnd()
        }
        deinit { try? handle.close() }
        func append(_ unit: ConsistencyUnit) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try handle.write(contentsOf: try encoder.encode(unit) + Data("\n".utf8))
            try handle.synchronize()
        }
    }
}
