import Foundation
import Tensor
import Text

// NLI data for the consistency scorer: SICK (Marelli et al. 2014) with a fixed seeded split by pair_ID,
// plus premise/hypothesis pairs built from the Persona-Chat persona map (train clusters only).

/// The three NLI labels, in the classifier's output order.
public enum NLILabel: Int, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case entailment = 0, neutral = 1, contradiction = 2

    /// The consistency score of one (utterance, persona sentence) pair (Welleck et al. 2019; Madotto et al. 2019):
    /// +1 entailment, 0 neutral, -1 contradiction.
    public var consistency: Int {
        switch self {
        case .entailment: 1
        case .neutral: 0
        case .contradiction: -1
        }
    }

    public var description: String {
        switch self {
        case .entailment: "entailment"
        case .neutral: "neutral"
        case .contradiction: "contradiction"
        }
    }

    /// SICK's spelling (ENTAILMENT / NEUTRAL / CONTRADICTION), case-insensitive.
    public init?(sick: String) {
        switch sick.uppercased() {
        case "ENTAILMENT": self = .entailment
        case "NEUTRAL": self = .neutral
        case "CONTRADICTION": self = .contradiction
        default: return nil
        }
    }
}

/// One premise/hypothesis pair with its gold label; `id` is SICK's pair_ID (0 for built pairs).
public struct NLIPair: Equatable, Sendable {
    public var id: Int
    public var premise: String
    public var hypothesis: String
    public var label: NLILabel

    public init(id: Int, premise: String, hypothesis: String, label: NLILabel) {
        self.id = id
        self.premise = premise
        self.hypothesis = hypothesis
        self.label = label
    }
}

/// The whole of a UTF-8 text file; an unreadable one is a `TextError` naming it.
func utf8Text(_ url: URL) throws -> String {
    do { return try String(contentsOf: url, encoding: .utf8) } catch {
        throw TextError(file: url.path, "unreadable: \(error.localizedDescription)")
    }
}

/// Readers and the split of SICK.
public enum SICK {
    public static let header = ["pair_ID", "sentence_A", "sentence_B", "relatedness_score", "entailment_judgment"]

    /// Reads SICK.txt (TSV with `header`); premise = sentence_A, hypothesis = sentence_B. Strict: a wrong
    /// header, a wrong field count, a non-integer or repeated pair_ID, an empty sentence or an unknown label
    /// is an error naming file and line.
    public static func read(_ url: URL) throws -> [NLIPair] {
        try parse(utf8Text(url), file: url.path)
    }

    public static func parse(_ text: String, file: String) throws -> [NLIPair] {
        // "\r\n" is one Character in Swift, so split on any newline Character.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { throw TextError(file: file, "empty file (expected the SICK header)") }
        let found = first.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard found == header else {
            throw TextError(file: file, line: 1, "header is \(found), expected \(header.joined(separator: " TAB "))")
        }
        var pairs: [NLIPair] = []
        var seen = Set<Int>()
        for (index, line) in lines.enumerated().dropFirst() {
            let number = index + 1
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else {
                throw TextError(file: file, line: number, "\(fields.count) tab-separated fields, expected \(header.count)")
            }
            guard let id = Int(fields[0]) else { throw TextError(file: file, line: number, "pair_ID '\(fields[0])' is not an integer") }
            guard seen.insert(id).inserted else { throw TextError(file: file, line: number, "pair_ID \(id) repeated") }
            let a = fields[1].trimmingCharacters(in: .whitespaces), b = fields[2].trimmingCharacters(in: .whitespaces)
            guard !a.isEmpty, !b.isEmpty else { throw TextError(file: file, line: number, "empty sentence") }
            guard Float(fields[3]) != nil else {
                throw TextError(file: file, line: number, "relatedness_score '\(fields[3])' is not a number")
            }
            guard let label = NLILabel(sick: fields[4]) else {
                throw TextError(file: file, line: number, "entailment_judgment '\(fields[4])' is not ENTAILMENT, NEUTRAL or CONTRADICTION")
            }
            pairs.append(NLIPair(id: id, premise: a, hypothesis: b, label: label))
        }
        return pairs
    }

    /// The split of `pairs` into train / validation / test: pair_IDs sorted ascending, shuffled by
    /// Fisher-Yates with `SeededGenerator(seed:)`, then cut at `fractions` (train, validation; test gets
    /// the rest). Each part keeps pair_ID order. The same IDs and seed always give the same split.
    public static func split(_ pairs: [NLIPair], seed: UInt64 = 2014, fractions: (train: Double, validation: Double) = (0.7, 0.1))
        -> (train: [NLIPair], validation: [NLIPair], test: [NLIPair])
    {
        precondition(fractions.train >= 0 && fractions.validation >= 0 && fractions.train + fractions.validation <= 1,
                     "split fractions \(fractions) must be non-negative and sum to at most 1")
        var ids = pairs.map(\.id).sorted()
        var rng = SeededGenerator(seed: seed)
        if ids.count > 1 {
            for i in stride(from: ids.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                ids.swapAt(i, j)
            }
        }
        let nTrain = Int((Double(ids.count) * fractions.train).rounded())
        let nValidation = Int((Double(ids.count) * fractions.validation).rounded())
        let trainIDs = Set(ids[0..<nTrain]), validationIDs = Set(ids[nTrain..<min(ids.count, nTrain + nValidation)])
        let sorted = pairs.sorted { $0.id < $1.id }
        return (sorted.filter { trainIDs.contains($0.id) },
                sorted.filter { validationIDs.contains($0.id) },
                sorted.filter { !trainIDs.contains($0.id) && !validationIDs.contains($0.id) })
    }
}

/// SNLI / MultiNLI JSON lines (`sentence1`, `sentence2`, `gold_label`, as both corpora ship them): general NLI
/// pairs that can join the training mix. Pairs without a gold label ("-", no annotator majority) are skipped;
/// anything else malformed is an error naming file and line.
public enum NLIJSONLines {
    public static func read(_ url: URL) throws -> [NLIPair] {
        try parse(utf8Text(url), file: url.path)
    }

    public static func parse(_ text: String, file: String) throws -> [NLIPair] {
        var pairs: [NLIPair] = []
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TextError(file: file, line: number, "not a JSON object")
            }
            guard let premise = object["sentence1"] as? String, let hypothesis = object["sentence2"] as? String,
                  let gold = object["gold_label"] as? String else {
                throw TextError(file: file, line: number, "needs string fields sentence1, sentence2 and gold_label")
            }
            if gold == "-" { continue }
            guard let label = NLILabel(sick: gold) else {
                throw TextError(file: file, line: number, "gold_label '\(gold)' is not entailment, neutral, contradiction or -")
            }
            let a = premise.trimmingCharacters(in: .whitespaces), b = hypothesis.trimmingCharacters(in: .whitespaces)
            guard !a.isEmpty, !b.isEmpty else { throw TextError(file: file, line: number, "empty sentence") }
            pairs.append(NLIPair(id: number, premise: a, hypothesis: b, label: label))
        }
        return pairs
    }

    /// `count` pairs drawn without replacement (seeded), in file order: the same file and seed give the same sample.
    public static func sample(_ pairs: [NLIPair], count: Int, seed: UInt64) -> [NLIPair] {
        guard count < pairs.count else { return pairs }
        var indices = Array(pairs.indices)
        var rng = SeededGenerator(seed: seed)
        indices.shuffle(using: &rng)
        return indices.prefix(count).sorted().map { pairs[$0] }
    }
}

/// Pairs built from a persona map (cluster id -> variants, each a list of sentences).
///
/// The map's variants of one cluster are mostly subsets of the same sentences, with a few revised
/// wordings ("i m a vegetarian" / "i am a vegetarian"); true paraphrases are rare. So:
/// - entailment: a sentence and another wording of it in the same cluster (equal after
///   `normalisedPersonaSentence`) when there is one, else the sentence itself (a restated fact);
/// - neutral: a sentence and a sentence of another, randomly drawn cluster.
/// Half of `limit` each, clusters visited in a seeded order. Only pass the TRAIN map.
public enum PersonaNLIPairs {
    public static func make(personaMap: [String: [[String]]], limit: Int, seed: UInt64 = 7) -> [NLIPair] {
        let clusters = personaMap.keys.sorted().map { key -> [String] in
            var seen = Set<String>(), sentences: [String] = []
            for variant in personaMap[key]! { for s in variant where seen.insert(s).inserted { sentences.append(s) } }
            return sentences
        }.filter { !$0.isEmpty }
        guard clusters.count > 1, limit > 1 else { return [] }
        var rng = SeededGenerator(seed: seed)
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        var pairs: [NLIPair] = []
        let half = limit / 2
        var attempts = 0
        while pairs.count < half && attempts < 100 * limit {
            attempts += 1
            let cluster = clusters[pick(clusters.count)]
            let premise = cluster[pick(cluster.count)]
            let key = normalisedPersonaSentence(premise)
            let others = cluster.filter { $0 != premise && normalisedPersonaSentence($0) == key }
            let hypothesis = others.isEmpty ? premise : others[pick(others.count)]
            pairs.append(NLIPair(id: 0, premise: premise, hypothesis: hypothesis, label: .entailment))
        }
        while pairs.count < 2 * half {
            let i = pick(clusters.count)
            var j = pick(clusters.count - 1)
            if j >= i { j += 1 }
            pairs.append(NLIPair(id: 0, premise: clusters[i][pick(clusters[i].count)],
                                 hypothesis: clusters[j][pick(clusters[j].count)], label: .neutral))
        }
        return pairs
    }

    /// Reads a persona map JSON file (object: cluster id -> array of arrays of strings); errors name the file.
    public static func readMap(_ url: URL) throws -> [String: [[String]]] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextError(file: url.path, "unreadable: \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode([String: [[String]]].self, from: data) } catch {
            throw TextError(file: url.path, "not a persona map (object of cluster id -> list of sentence lists): \(error)")
        }
    }
}

/// Lower case, apostrophes and punctuation dropped, common contractions expanded ("i m" -> "i am").
public func normalisedPersonaSentence(_ s: String) -> String {
    let letters = s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : " " }
    var words = String(letters).split(separator: " ").map(String.init)
    let expansions = ["m": "am", "re": "are", "s": "is", "t": "not", "ve": "have", "d": "would", "ll": "will"]
    for i in words.indices where i > 0 {
        if let e = expansions[words[i]] {
            words[i] = e
            if e == "not" && words[i - 1].hasSuffix("n") && words[i - 1] != "can" { words[i - 1].removeLast() }
        }
    }
    return words.joined(separator: " ")
}
