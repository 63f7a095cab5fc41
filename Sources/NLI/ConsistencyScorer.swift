import Foundation
import Autograd
import NN
import Text

// Persona consistency C (Madotto et al. 2019, §4, following Welleck et al. 2019):
//   C(u) = Σ_{p ∈ persona} NLI(u, p),  NLI = +1 entailment, 0 neutral, -1 contradiction,
// with premise = the generated utterance u and hypothesis = the persona sentence p (does what the speaker
// said entail / contradict the persona fact?). A response is scored against every sentence of its own persona.

/// Anything that labels premise/hypothesis pairs (the fine-tuned classifier, or a stub in tests).
public protocol NLIPredictor {
    func predict(_ pairs: [(premise: String, hypothesis: String)]) -> [NLILabel]
}

/// What stands behind a consistency score, printed with every C the way sacreBLEU prints its signature:
/// the NLI checkpoint's weights checksum, its training data and its measured accuracies.
public struct NLISignature: Codable, Equatable, Sendable {
    public var checkpoint: String
    public var weights: String
    public var data: String
    /// "sick-test" -> "86.25%", ...: the `accuracy.*` entries of the checkpoint's metadata.
    public var accuracies: [String: String]

    public init(checkpoint: String, weights: String, data: String, accuracies: [String: String]) {
        self.checkpoint = checkpoint
        self.weights = weights
        self.data = data
        self.accuracies = accuracies
    }

    init(checkpoint: Checkpoint) {
        self.init(checkpoint: checkpoint.folder?.path ?? "?", weights: checkpoint.weightsChecksum ?? "unrecorded",
                  data: checkpoint.metadata["data"] ?? "unrecorded",
                  accuracies: Dictionary(uniqueKeysWithValues: checkpoint.metadata.compactMap { key, value in
                      key.hasPrefix("accuracy.") ? (String(key.dropFirst("accuracy.".count)), value) : nil
                  }))
    }

    /// One line: `nli|weights:crc32:...|acc:real=..,sick-test=..|data:...`.
    public var line: String {
        let measured = accuracies.keys.sorted().map { "\($0)=\(accuracies[$0]!)" }.joined(separator: ",")
        return "nli|weights:\(weights)|acc:\(measured.isEmpty ? "unmeasured" : measured)|data:\(data)"
    }
}

/// The trained classifier with its tokenizer and full parameters.
public struct NLIModel: NLIPredictor {
    public let classifier: NLIClassifier
    public let parameters: Parameters
    public let tokenizer: WordPieceTokenizer
    /// The checkpoint behind the labels (nil for a model built in memory).
    public var signature: NLISignature?
    /// The forward-only encoder, built once from `parameters`.
    public let inference: BertInference
    /// Pairs packed into one forward pass.
    public var batchSize = 512

    public init(classifier: NLIClassifier, parameters: Parameters, tokenizer: WordPieceTokenizer) {
        self.classifier = classifier
        self.parameters = parameters
        self.tokenizer = tokenizer
        inference = classifier.inference(parameters)
    }

    /// Loads `checkpoint` with the pretrained MiniLM folder (weights of the frozen blocks, vocab.txt).
    public init(checkpoint: URL, pretrained: URL) throws {
        let (classifier, parameters, saved) = try NLIClassifier.load(checkpoint: checkpoint, pretrained: pretrained)
        self.init(classifier: classifier, parameters: parameters,
                  tokenizer: try WordPieceTokenizer(vocabularyFile: pretrained.appendingPathComponent("vocab.txt")))
        signature = NLISignature(checkpoint: saved)
    }

    /// Labels in input order. Identical pairs (same premise and hypothesis) are scored once.
    public func predict(_ pairs: [(premise: String, hypothesis: String)]) -> [NLILabel] {
        scoredOnce(pairs) { unique in
            classifier.predict(classifier.encode(unique, tokenizer: tokenizer), parameters: parameters,
                               batchSize: batchSize, inference: inference)
        }
    }

    /// Label probabilities (entailment, neutral, contradiction) per pair, in input order; identical pairs scored once.
    public func probabilities(_ pairs: [(premise: String, hypothesis: String)]) -> [[Float]] {
        let k = classifier.head.outputSize
        return scoredOnce(pairs) { unique in
            let scalars = classifier.probabilities(classifier.encode(unique, tokenizer: tokenizer), parameters: parameters,
                                                   batchSize: batchSize, inference: inference).scalars
            return (0..<unique.count).map { Array(scalars[($0 * k)..<(($0 + 1) * k)]) }
        }
    }

    /// `score` run on the distinct pairs only, its results spread back to every input position.
    private func scoredOnce<T>(_ pairs: [(premise: String, hypothesis: String)],
                               _ score: ([(premise: String, hypothesis: String)]) -> [T]) -> [T] {
        var unique: [(premise: String, hypothesis: String)] = [], slot: [Int] = [], seen: [String: Int] = [:]
        for pair in pairs {
            let key = pair.premise + "\u{0}" + pair.hypothesis
            if let index = seen[key] { slot.append(index); continue }
            seen[key] = unique.count
            slot.append(unique.count)
            unique.append(pair)
        }
        let results = score(unique)
        return slot.map { results[$0] }
    }
}

/// One scored utterance: a label per persona sentence and C.
public struct UtteranceConsistency: Equatable, Sendable {
    public var utterance: String
    public var persona: [String]
    public var labels: [NLILabel]
    /// Σ of the labels' consistency values.
    public var score: Int { labels.reduce(0) { $0 + $1.consistency } }
}

public struct ConsistencyScorer {
    public let predictor: any NLIPredictor

    public init(predictor: any NLIPredictor) { self.predictor = predictor }

    /// Scores every (utterance, persona) item with one batched NLI call (premise u, hypothesis p).
    public func score(_ items: [(utterance: String, persona: [String])]) -> [UtteranceConsistency] {
        let pairs = items.flatMap { item in item.persona.map { (premise: item.utterance, hypothesis: $0) } }
        let labels = predictor.predict(pairs)
        precondition(labels.count == pairs.count, "predictor returned \(labels.count) labels for \(pairs.count) pairs")
        var out: [UtteranceConsistency] = []
        var next = 0
        for item in items {
            out.append(UtteranceConsistency(utterance: item.utterance, persona: item.persona,
                                            labels: Array(labels[next..<(next + item.persona.count)])))
            next += item.persona.count
        }
        return out
    }

    /// `score` in chunks of `chunk` utterances, calling `progress(done, total)` after each: the same labels,
    /// for long transcripts whose user wants to see that scoring moves.
    public func score(_ items: [(utterance: String, persona: [String])], chunk: Int,
                      progress: (Int, Int) -> Void) -> [UtteranceConsistency] {
        var out: [UtteranceConsistency] = []
        for start in stride(from: 0, to: items.count, by: max(chunk, 1)) {
            out += score(Array(items[start..<min(start + max(chunk, 1), items.count)]))
            progress(out.count, items.count)
        }
        return out
    }

    /// The scored utterances grouped by speaker, speakers in order of first appearance (a transcript often holds
    /// several systems).
    public static func bySpeaker(_ turns: [TranscriptTurn], _ scored: [UtteranceConsistency])
        -> (speakers: [String], scores: [String: [UtteranceConsistency]]) {
        var speakers: [String] = []
        var groups: [String: [UtteranceConsistency]] = [:]
        for (turn, s) in zip(turns, scored) {
            if groups[turn.speaker] == nil { speakers.append(turn.speaker) }
            groups[turn.speaker, default: []].append(s)
        }
        return (speakers, groups)
    }

    /// Mean C over utterances (0 for none): Σ C / count.
    public static func meanScore(_ scored: [UtteranceConsistency]) -> Double {
        scored.isEmpty ? 0 : Double(scored.reduce(0) { $0 + $1.score }) / Double(scored.count)
    }
}

/// Re-ranking of n-best responses by persona consistency (Welleck et al. 2019, §5): among the candidates,
/// pick the one with the highest C(u) against the persona; ties go to the better decoder score.
public struct ConsistencyReranker {
    public let scorer: ConsistencyScorer

    public init(predictor: any NLIPredictor) { scorer = ConsistencyScorer(predictor: predictor) }

    /// Index of the chosen candidate and every candidate's consistency (one batched NLI call).
    /// `candidates` carry their decoder scores (e.g. the beam's length-normalised log-probability).
    public func rerank(_ candidates: [(text: String, score: Float)], persona: [String]) -> (best: Int, scored: [UtteranceConsistency]) {
        precondition(!candidates.isEmpty, "rerank needs at least one candidate")
        let scored = scorer.score(candidates.map { (utterance: $0.text, persona: persona) })
        let best = candidates.indices.max { a, b in
            (scored[a].score, candidates[a].score) < (scored[b].score, candidates[b].score)
        }!
        return (best, scored)
    }
}

/// Utterances to score, read from a transcript.
public struct TranscriptTurn: Equatable, Sendable {
    public var line: Int
    public var speaker: String
    public var text: String
    public var persona: [String]
}

public enum Transcript {
    /// JSONL (first non-empty line starts with "{") or ConvAI2 text ("1 your persona: ..." lines, then
    /// "<n> partner\tresponse"; the responses are scored against "your persona" lines).
    public static func read(_ url: URL) throws -> [TranscriptTurn] {
        let text = try TextFile.string(url)
        let firstLine = TextFile.lines(text).first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        if firstLine?.trimmingCharacters(in: .whitespaces).hasPrefix("{") == true {
            return try parseJSONL(text, file: url.path)
        }
        return try ConvAI2.readEpisodes(url, personaPrefix: "your persona:").flatMap { episode in
            episode.pairs.enumerated().map {
                TranscriptTurn(line: episode.line + episode.persona.count + $0.offset, speaker: "self",
                               text: $0.element.response, persona: episode.persona)
            }
        }
    }

    /// One JSON object per line: {"speaker": String, "text": String, "persona": [String]}; blank lines are
    /// skipped. Errors name file and line: not JSON, a missing or mistyped field, empty text.
    /// Turns with an empty persona are returned too (they score C = 0).
    public static func parseJSONL(_ text: String, file: String) throws -> [TranscriptTurn] {
        struct Turn: Decodable { var speaker: String; var text: String; var persona: [String] }
        var out: [TranscriptTurn] = []
        for (index, raw) in TextFile.lines(text).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let turn: Turn
            do { turn = try JSONDecoder().decode(Turn.self, from: Data(line.utf8)) } catch let DecodingError.keyNotFound(key, _) {
                throw TextError(file: file, line: index + 1, "missing field \"\(key.stringValue)\" (need speaker, text, persona)")
            } catch let DecodingError.typeMismatch(_, context) {
                let field = context.codingPath.first?.stringValue ?? "?"
                throw TextError(file: file, line: index + 1, "field \"\(field)\" has the wrong type (speaker/text: string, persona: list of strings)")
            } catch {
                throw TextError(file: file, line: index + 1, "not a JSON object: \(String(line.prefix(40)).debugDescription)")
            }
            guard !turn.text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw TextError(file: file, line: index + 1, "empty \"text\"")
            }
            out.append(TranscriptTurn(line: index + 1, speaker: turn.speaker, text: turn.text, persona: turn.persona))
        }
        return out
    }
}
