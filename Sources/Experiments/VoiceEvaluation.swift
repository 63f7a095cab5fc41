import Dialogue
import Foundation
import MetaLearning
import Metrics
import NLI
import NN
import Recommender
import SpokenRecommender
import Tensor
import Text

/// Settings of `paml recommend voices`: the speaker before and after k-shot adaptation to held-out voices.
public struct VoiceEvaluationConfig: Codable, Sendable {
    public var data: String
    public var speaker: String
    /// Voice files (persona files); the test voices, never seen in training or selection.
    public var voiceFiles: [String]
    public var nliCheckpoint: String
    public var minilm: String
    /// k values: adapt on the first k dialogues of a voice (0 = the speaker as trained).
    public var shots = [0, 1, 3, 5]
    /// Dialogues 0..<supportPool are the support pool; the rest are held out and measured.
    public var supportPool = 5
    /// The adaptation: the release's k-shot protocol (SGD 0.01, 10 passes, no clip), batch 16.
    public var adaptSteps = 10
    public var adaptLearningRate: Float = 0.01
    public var adaptBatchSize = 16
    public var beam = 5
    public var resamples = 10_000
    public var seed: UInt64 = 1

    public init(data: String, speaker: String, voiceFiles: [String], nliCheckpoint: String, minilm: String) {
        (self.data, self.speaker, self.voiceFiles, self.nliCheckpoint, self.minilm) = (data, speaker, voiceFiles, nliCheckpoint, minilm)
    }

    public func validate() throws {
        guard !voiceFiles.isEmpty else { throw ConfigError(field: "voiceFiles", value: "[]", allowed: "one or more voice files") }
        guard !shots.isEmpty, shots.allSatisfy({ (0...supportPool).contains($0) }) else {
            throw ConfigError(field: "shots", value: "\(shots)", allowed: "k in 0...supportPool (\(supportPool))")
        }
        try Check.within(supportPool, 1...100, "supportPool")
        try Check.within(adaptSteps, 0...1_000, "adaptSteps")
        try Check.finite(adaptLearningRate, "adaptLearningRate", from: 0, to: 10)
        try Check.within(adaptBatchSize, 1...4_096, "adaptBatchSize")
        try Check.within(beam, 1...64, "beam")
        try Check.within(resamples, 2...1_000_000, "resamples")
    }
}

/// One voice at one k.
public struct VoiceCell: Codable, Sendable {
    public var voice: String
    public var k: Int
    /// Action lines said (held-out dialogues).
    public var lines: Int
    /// sacreBLEU of the realisations against the voice's own held-out lines (delexicalised): style uptake.
    public var bleu: Double
    public var distinct2: Double
    /// Mean C of the realisations (names filled) against the voice's persona, with the fraction entailing a sentence.
    public var consistency: Double
    public var entailing: Double
    /// Perplexity of every held-out answer of the voice (fluency in the voice).
    public var perplexity: Double
    public var slotAccuracy: Double
    public var examples: [String]
}

/// A paired difference (k against k = 0) pooled over voices, with its 95% bootstrap interval over held-out dialogues.
public struct VoiceDifference: Codable, Sendable {
    public var k: Int
    public var metric: String
    public var interval: BootstrapInterval
}

public struct VoiceReport: Codable, Sendable {
    public var command: String
    public var config: VoiceEvaluationConfig
    public var signature: NLISignature?
    public var bleuSignature: String
    public var cells: [VoiceCell]
    public var differences: [VoiceDifference]
}

/// Adapts the speaker to each voice on k of its dialogues and measures style uptake, distinct-2, C and fluency on
/// the voice's held-out dialogues: each held-out action line is said again from the same conversation and action.
public struct VoiceEvaluation {
    public var config: VoiceEvaluationConfig
    public init(config: VoiceEvaluationConfig) { self.config = config }

    /// Per held-out dialogue: BLEU statistics and C sums, for the pooled bootstrap.
    struct Unit {
        var bleu: [Int: BLEUStatistics] = [:]
        var c: [Int: (sum: Double, count: Double)] = [:]
    }

    public func run(command: String, log: (String) -> Void) throws -> VoiceReport {
        try config.validate()
        let speaker = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.speaker))
        guard speaker.metadata[SpeakerPrompt.metadataKey] == SpeakerPrompt.metadataValue else {
            throw TextError(file: config.speaker, "not a speaker checkpoint (paml recommend train-speaker)")
        }
        let crs = try CRSDataset.load(directory: CorpusRoot(explicit: config.data).file("crs/lastfm"))
        let nli = try NLIModel(checkpoint: URL(fileURLWithPath: config.nliCheckpoint), pretrained: URL(fileURLWithPath: config.minilm))
        let scorer = ConsistencyScorer(predictor: nli)
        let encoder = ExampleEncoder(vocabulary: speaker.vocabulary, format: speaker.config.format)
        let reader = ActionLineReader(dataset: crs, commonWords: ActionRealiser.commonWords(speaker.vocabulary))
        let examples = SpeakerExamples(encoder: encoder, reader: reader)
        let adaptation = KShotProtocol(steps: config.adaptSteps, learningRate: config.adaptLearningRate, batchSize: config.adaptBatchSize)
        let bleu = BLEU()
        var cells: [VoiceCell] = []
        var units: [Unit] = []
        for path in config.voiceFiles {
            let url = URL(fileURLWithPath: path)
            let file = try PersonaDialogueFile(url: url)
            let name = url.deletingPathExtension().lastPathComponent
            let dialogues = SpeakerExamples.grouped(file)
            guard dialogues.count > config.supportPool else {
                throw TextError(file: path, "\(dialogues.count) dialogues; the evaluation needs more than \(config.supportPool) (support pool + held-out)")
            }
            let support = Array(dialogues.prefix(config.supportPool)), heldOut = Array(dialogues.dropFirst(config.supportPool))
            let heldOutExamples = heldOut.flatMap { $0.map { examples.example(history: $0.history, answer: $0.response).example } }
            let firstUnit = units.count
            units += heldOut.map { _ in Unit() }
            for k in config.shots {
                let supportExamples = support.prefix(k).flatMap { $0.map { examples.example(history: $0.history, answer: $0.response).example } }
                let parameters = try adaptation.adapt(model: speaker.model, parameters: speaker.parameters, support: supportExamples)
                let realiser = ActionRealiser(model: speaker.model, parameters: parameters, vocabulary: speaker.vocabulary,
                                              format: speaker.config.format, strategy: .beam(size: config.beam), readsConversation: true)
                var stats = BLEUStatistics()
                var distinct = DistinctAccumulator(orders: [2])
                var said: [(unit: Int, utterance: String)] = []
                var usable = 0, lines = 0
                var shown: [String] = []
                for (d, dialogue) in heldOut.enumerated() {
                    for example in dialogue {
                        let (kind, reference, names) = reader.read(example.response)
                        guard let kind else { continue }
                        let tokens = realiser.decode(kind, context: SpeakerPrompt.context(history: example.history), history: example.history, seed: 0)
                        let lineStats = bleu.statistics(hypothesis: tokens.joined(separator: " "), references: [reference.joined(separator: " ")])
                        stats += lineStats
                        units[firstUnit + d].bleu[k, default: BLEUStatistics()] += lineStats
                        distinct.accumulate(tokens: tokens)
                        usable += ActionRealiser.isUsable(tokens, kind: kind) ? 1 : 0
                        lines += 1
                        let utterance = SlotFiller.fill(tokens, text: names)
                        said.append((firstUnit + d, utterance))
                        if shown.count < 4 { shown.append(utterance) }
                    }
                }
                let scored = scorer.score(said.map { (utterance: $0.utterance, persona: file.persona) })
                var cSum = 0.0, entailing = 0
                for (item, score) in zip(said, scored) {
                    cSum += Double(score.score)
                    entailing += score.labels.contains(.entailment) ? 1 : 0
                    let old = units[item.unit].c[k] ?? (0, 0)
                    units[item.unit].c[k] = (old.sum + Double(score.score), old.count + 1)
                }
                let ppl = perplexity(speaker.model, parameters, batches: makeBatches(heldOutExamples, batchSize: 64, shuffleSeed: nil)).ppl
                let cell = VoiceCell(voice: name, k: k, lines: lines, bleu: bleu.score(stats).score, distinct2: distinct.measure()[2] ?? 0,
                                     consistency: cSum / Double(max(lines, 1)), entailing: Double(entailing) / Double(max(lines, 1)),
                                     perplexity: ppl, slotAccuracy: Double(usable) / Double(max(lines, 1)), examples: shown)
                log(String(format: "%@ k=%d: BLEU %.2f, distinct-2 %.3f, C %.3f (entailing %.2f), perplexity %.2f, slot %.3f (%d lines)",
                           name, k, cell.bleu, cell.distinct2, cell.consistency, cell.entailing, cell.perplexity, cell.slotAccuracy, lines))
                cells.append(cell)
            }
        }
        var differences: [VoiceDifference] = []
        for k in config.shots where k != 0 && config.shots.contains(0) {
            let bleuInterval = Bootstrap.interval(units: units.count, resamples: config.resamples, seed: config.seed) { indices in
                var after = BLEUStatistics(), before = BLEUStatistics()
                for i in indices {
                    if let s = units[i].bleu[k] { after += s }
                    if let s = units[i].bleu[0] { before += s }
                }
                return bleu.score(after).score - bleu.score(before).score
            }
            let cInterval = Bootstrap.interval(units: units.count, resamples: config.resamples, seed: config.seed) { indices in
                var a = (0.0, 0.0), b = (0.0, 0.0)
                for i in indices {
                    if let s = units[i].c[k] { a = (a.0 + s.sum, a.1 + s.count) }
                    if let s = units[i].c[0] { b = (b.0 + s.sum, b.1 + s.count) }
                }
                return a.0 / max(a.1, 1) - b.0 / max(b.1, 1)
            }
            differences += [VoiceDifference(k: k, metric: "BLEU", interval: bleuInterval),
                            VoiceDifference(k: k, metric: "C", interval: cInterval)]
        }
        return VoiceReport(command: command, config: config, signature: nli.signature, bleuSignature: bleu.signature(referenceCount: 1),
                           cells: cells, differences: differences)
    }

    /// The markdown table: per voice and k, then the mean over voices and the pooled paired differences.
    public static func markdown(_ report: VoiceReport) -> String {
        var lines = ["| voice | k | lines | BLEU to held-out lines | distinct-2 | C vs persona | entailing | perplexity | slot acc. |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for cell in report.cells {
            lines.append(String(format: "| %@ | %d | %d | %.2f | %.3f | %+.3f | %.2f | %.2f | %.3f |", cell.voice, cell.k, cell.lines,
                                cell.bleu, cell.distinct2, cell.consistency, cell.entailing, cell.perplexity, cell.slotAccuracy))
        }
        for k in report.config.shots {
            let row = report.cells.filter { $0.k == k }
            let n = Double(row.count)
            func mean(_ f: (VoiceCell) -> Double) -> Double { row.map(f).reduce(0, +) / n }
            lines.append(String(format: "| **mean of %d voices** | %d | %d | %.2f | %.3f | %+.3f | %.2f | %.2f | %.3f |", row.count, k,
                                row.map(\.lines).reduce(0, +), mean(\.bleu), mean(\.distinct2), mean(\.consistency), mean(\.entailing),
                                mean(\.perplexity), mean(\.slotAccuracy)))
        }
        lines += ["", "Paired differences against k = 0, pooled over the voices (95% bootstrap over held-out dialogues, "
                  + "\(report.config.resamples) resamples):", "", "| k | metric | difference | 95% interval |", "|---|---|---|---|"]
        for d in report.differences {
            lines.append(String(format: "| %d | %@ | %+.3f | [%+.3f, %+.3f]%@ |", d.k, d.metric, d.interval.estimate, d.interval.lower,
                                d.interval.upper, d.interval.excludes(0) ? " (excludes 0)" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
