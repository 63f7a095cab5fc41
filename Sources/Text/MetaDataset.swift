import Foundation
import Tensor

/// Normalisation used to match personas to PAML's clusters: lower case, ASCII apostrophes, contractions
/// expanded ("i'm" -> "i am", "don't" / "don t" -> "do not", "it's" / "it s" -> "it is"), every character
/// that is not a letter or digit a separator, single spaces. The persona maps already write sentences this
/// way ("i am a stunt double as my second job"); ConvAI2 writes "i'm a stunt double as my second job.".
public enum PersonaNormalizer {
    static let suffixes: [(String, String)] = [("'m", "am"), ("'re", "are"), ("'ve", "have"), ("'ll", "will"), ("'d", "would"), ("'s", "is")]
    static let whole: [String: [String]] = ["won't": ["will", "not"], "can't": ["can", "not"], "cannot": ["can", "not"], "ain't": ["is", "not"]]

    public static func normalize(_ sentence: String) -> String {
        // Letters, digits, apostrophes kept; everything else splits words.
        var cleaned = ""
        for c in sentence.lowercased() {
            if c == "\u{2019}" || c == "\u{2018}" || c == "'" { cleaned.append("'") }
            else if c.isLetter || c.isNumber { cleaned.append(c) }
            else { cleaned.append(" ") }
        }
        var words = cleaned.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }.filter { !$0.isEmpty }
        // Re-attach contraction pieces the persona maps write apart: "doesn t" -> "doesn't", "it s" -> "it's".
        var joined: [String] = []
        for word in words {
            if let last = joined.last {
                if word == "t", last.hasSuffix("n") { joined[joined.count - 1] = last + "'t"; continue }
                if ["s", "m", "re", "ve", "ll", "d"].contains(word) { joined[joined.count - 1] = last + "'" + word; continue }
            }
            joined.append(word)
        }
        words = []
        for word in joined { words += expand(word) }
        return words.joined(separator: " ")
    }

    static func expand(_ word: String) -> [String] {
        if let fixed = whole[word] { return fixed }
        if word.hasSuffix("n't"), word.count > 3 { return expand(String(word.dropLast(3))) + ["not"] }
        for (suffix, full) in suffixes where word.hasSuffix(suffix) && word.count > suffix.count {
            return expand(String(word.dropLast(suffix.count))) + [full]
        }
        return [word]
    }
}

/// The split a persona (task) belongs to.
public enum MetaSplit: String, CaseIterable, Codable, Sendable { case train, valid, test }

/// One training example for a persona: its sentences, the dialogue so far, and what the speaker said next.
public struct PersonaExample: Equatable, Sendable {
    public var persona: [String]
    /// Earlier turns, oldest first (both speakers).
    public var history: [String]
    public var response: String

    public init(persona: [String], history: [String], response: String) {
        self.persona = persona
        self.history = history
        self.response = response
    }
}

/// One dialogue side: a speaker with a persona, and one example per turn of that speaker that has history.
public struct PersonaDialogueSide: Equatable, Sendable {
    public var source: String
    public var dialogueIndex: Int
    public var speaker: Int
    public var persona: [String]
    public var examples: [PersonaExample]

    public init(source: String, dialogueIndex: Int, speaker: Int, persona: [String], examples: [PersonaExample]) {
        (self.source, self.dialogueIndex, self.speaker, self.persona, self.examples) = (source, dialogueIndex, speaker, persona, examples)
    }
}

/// A task of the meta-dataset: one persona cluster and all dialogue sides spoken with it.
public struct PersonaTask: Equatable, Sendable {
    /// "<split of the persona map>/<cluster id>" or "unmatched/<n>".
    public var id: String
    public var split: MetaSplit
    public var dialogues: [PersonaDialogueSide]

    public init(id: String, split: MetaSplit, dialogues: [PersonaDialogueSide]) {
        (self.id, self.split, self.dialogues) = (id, split, dialogues)
    }
}

extension PersonaTask {
    /// A task as one JSON line of `paml data personas`: id, split, sources, sentences, and optionally every side's
    /// turns as [partner's last turn, response].
    public struct Listing: Encodable {
        public struct Side: Encodable {
            var source: String
            var dialogueIndex: Int
            var speaker: Int
            var persona: [String]
            var turns: [[String]]
        }
        var id: String
        var split: String
        var sources: [String]
        var persona: [String]
        var dialogueCount: Int
        var dialogues: [Side]?

        public init(_ task: PersonaTask, withDialogues: Bool) {
            (id, split, dialogueCount) = (task.id, task.split.rawValue, task.dialogues.count)
            sources = Array(Set(task.dialogues.map(\.source))).sorted()
            persona = task.dialogues.first?.persona ?? []
            dialogues = withDialogues ? task.dialogues.map { side in
                Side(source: side.source, dialogueIndex: side.dialogueIndex, speaker: side.speaker, persona: side.persona,
                     turns: side.examples.map { [$0.history.last ?? "", $0.response] })
            } : nil
        }
    }
}

/// The persona meta-dataset (PAML, Madotto et al. 2019, section 3): a task is a persona; its data are the
/// dialogues spoken with that persona.
///
/// Construction:
/// 1. Every dialogue SIDE (speaker s of a dialogue with persona p_s) is one dialogue of persona p_s; it
///    yields one example per turn of speaker s that follows at least one earlier turn:
///    (p_s, turns before it, the turn).
/// 2. p_s is matched to a cluster of the persona maps: sentences normalised (`PersonaNormalizer`), the
///    cluster whose best variant shares the most sentences with p_s wins, if it shares at least
///    `minimumOverlap` (ties: the variant with fewer unmatched sentences, then map split train < valid <
///    test, then cluster id). Personas matching no cluster are grouped by identical normalised sentence
///    sets, each group its own cluster.
/// 3. Splits are made of whole clusters, so no persona is ever in two splits (`SplitPolicy`):
///    - `.personaMaps`: a cluster of persona_map_<split>.json belongs to <split>; unmatched clusters go to
///      train (they match no valid/test cluster, so they cannot leak into evaluation).
///    - `.seededClusters(valid:test:)` (the default): with the shared data every ConvAI2-valid and SPC-valid
///      persona lies in persona_map_valid and every SPC-test persona in persona_map_test, so map membership
///      would leave meta-train empty (the Persona-Chat train split is not available). Instead the clusters
///      that have dialogues are split again, per origin group (map split, or "unmatched") so both groups
///      feed every split: sorted by id, shuffled with `SeededGenerator(seed)`, the first round(test * n)
///      go to test, the next round(valid * n) to valid, the rest to train.
/// 4. Order: tasks by id; within a task dialogue sides are shuffled with `SeededGenerator(seed)` (k-shot
///    support sets are taken from the front), so the dataset is a pure function of (inputs, policy, seed).
public struct PersonaMetaDataset: Sendable {
    /// How clusters are assigned to meta-train / meta-valid / meta-test (see the type's notes, step 3).
    public enum SplitPolicy: Equatable, Sendable {
        case personaMaps
        case seededClusters(valid: Double, test: Double)
        public static let standard = SplitPolicy.seededClusters(valid: 0.1, test: 0.2)
    }

    public var tasks: [PersonaTask]
    /// Dialogue sides whose persona matched no map cluster.
    public var unmatchedSides: Int
    /// Distinct unmatched personas (= unmatched clusters).
    public var unmatchedPersonas: Int

    public func tasks(in split: MetaSplit) -> [PersonaTask] { tasks.filter { $0.split == split } }

    /// - Parameters:
    ///   - maps: split -> (cluster id -> variants), from `PersonaMap.read`.
    public init(dialogues: [PersonaDialogue], maps: [MetaSplit: [String: [[String]]]], minimumOverlap: Int = 2,
                policy: SplitPolicy = .standard, seed: UInt64 = 0) {
        // Flatten variants, with an inverted index sentence -> variants containing it.
        struct Variant { let cluster: Int; let size: Int }
        var clusterKeys: [(split: MetaSplit, id: String)] = []
        var variants: [Variant] = []
        var index: [String: [Int]] = [:]
        for split in MetaSplit.allCases {
            for id in (maps[split] ?? [:]).keys.sorted(by: PersonaMetaDataset.clusterOrder) {
                let cluster = clusterKeys.count
                clusterKeys.append((split, id))
                for variant in maps[split]![id]! {
                    let sentences = Set(variant.map(PersonaNormalizer.normalize))
                    for sentence in sentences { index[sentence, default: []].append(variants.count) }
                    variants.append(Variant(cluster: cluster, size: sentences.count))
                }
            }
        }

        var sidesByTask: [String: (split: MetaSplit, sides: [PersonaDialogueSide])] = [:]
        var unmatchedIDs: [[String]: String] = [:]
        var unmatchedSides = 0
        for dialogue in dialogues {
            for speaker in dialogue.personas.indices {
                let persona = dialogue.personas[speaker]
                let normalised = Array(Set(persona.map(PersonaNormalizer.normalize))).sorted()
                var overlap: [Int: Int] = [:]
                for sentence in normalised { for v in index[sentence] ?? [] { overlap[v, default: 0] += 1 } }
                // Best (overlap desc, unmatched variant sentences asc, cluster order asc).
                let best = overlap.filter { $0.value >= min(minimumOverlap, normalised.count) }.min { a, b in
                    let (va, vb) = (variants[a.key], variants[b.key])
                    if a.value != b.value { return a.value > b.value }
                    if va.size - a.value != vb.size - b.value { return va.size - a.value < vb.size - b.value }
                    return va.cluster < vb.cluster
                }
                let taskID: String, split: MetaSplit
                if let best {
                    let key = clusterKeys[variants[best.key].cluster]
                    (taskID, split) = ("\(key.split.rawValue)/\(key.id)", key.split)
                } else {
                    unmatchedSides += 1
                    if unmatchedIDs[normalised] == nil { unmatchedIDs[normalised] = "unmatched/\(unmatchedIDs.count + 1)" }
                    (taskID, split) = (unmatchedIDs[normalised]!, .train)
                }
                let side = PersonaDialogueSide(source: dialogue.source, dialogueIndex: dialogue.index, speaker: speaker,
                                               persona: persona, examples: PersonaMetaDataset.examples(dialogue, speaker: speaker))
                sidesByTask[taskID, default: (split, [])].sides.append(side)
            }
        }
        var rng = SeededGenerator(seed: seed)
        let ids = sidesByTask.keys.sorted(by: PersonaMetaDataset.taskOrder)
        var splitOf: [String: MetaSplit] = sidesByTask.mapValues(\.split)
        if case .seededClusters(let validFraction, let testFraction) = policy {
            let groups = Dictionary(grouping: ids) { String($0.split(separator: "/")[0]) }
            for group in groups.keys.sorted() {
                var members = groups[group]!
                members.shuffle(using: &rng)
                let test = Int((testFraction * Double(members.count)).rounded())
                let valid = Int((validFraction * Double(members.count)).rounded())
                for (i, id) in members.enumerated() { splitOf[id] = i < test ? .test : i < test + valid ? .valid : .train }
            }
        }
        tasks = ids.map { id in
            var sides = sidesByTask[id]!.sides
            sides.sort { ($0.source, $0.dialogueIndex, $0.speaker) < ($1.source, $1.dialogueIndex, $1.speaker) }
            sides.shuffle(using: &rng)
            return PersonaTask(id: id, split: splitOf[id]!, dialogues: sides)
        }
        self.unmatchedSides = unmatchedSides
        self.unmatchedPersonas = unmatchedIDs.count
    }

    /// (persona, history, response) for every turn of `speaker` after the first turn of the dialogue.
    public static func examples(_ dialogue: PersonaDialogue, speaker: Int) -> [PersonaExample] {
        var out: [PersonaExample] = []
        for (t, turn) in dialogue.turns.enumerated() where turn.speaker == speaker && t > 0 {
            out.append(PersonaExample(persona: dialogue.personas[speaker], history: dialogue.turns[..<t].map(\.text), response: turn.text))
        }
        return out
    }

    /// Numeric ids numerically, others as text.
    static func clusterOrder(_ a: String, _ b: String) -> Bool {
        switch (Int(a), Int(b)) {
        case let (x?, y?): return x < y
        default: return a < b
        }
    }

    static func taskOrder(_ a: String, _ b: String) -> Bool {
        let (pa, pb) = (a.split(separator: "/", maxSplits: 1), b.split(separator: "/", maxSplits: 1))
        if pa[0] != pb[0] { return pa[0] < pb[0] }
        return clusterOrder(String(pa.last!), String(pb.last!))
    }
}

/// Counts for one group of tasks (a split, or a split restricted to one source).
public struct MetaDatasetStatistics: Codable, Equatable, Sendable {
    public var personas = 0
    public var dialogues = 0
    public var examples = 0
    public var dialoguesPerPersonaMin = 0
    public var dialoguesPerPersonaMax = 0
    /// dialogues / personas (a ratio of totals).
    public var dialoguesPerPersonaMean = 0.0

    /// Statistics of `tasks`, counting only dialogue sides from `source` when given (personas without such
    /// a side are left out).
    public init(_ tasks: [PersonaTask], source: String? = nil) {
        var perPersona: [Int] = []
        for task in tasks {
            let sides = task.dialogues.filter { source == nil || $0.source == source }
            if sides.isEmpty { continue }
            perPersona.append(sides.count)
            examples += sides.reduce(0) { $0 + $1.examples.count }
        }
        personas = perPersona.count
        dialogues = perPersona.reduce(0, +)
        dialoguesPerPersonaMin = perPersona.min() ?? 0
        dialoguesPerPersonaMax = perPersona.max() ?? 0
        dialoguesPerPersonaMean = personas == 0 ? 0 : Double(dialogues) / Double(personas)
    }
}

extension PersonaMetaDataset {
    /// The real corpora under `root`: ConvAI2 valid (self + other), Synthetic-Persona-Chat valid and test,
    /// and the three persona maps. Also returns SPC's lenient-repair counts.
    public static func load(root: CorpusRoot, minimumOverlap: Int = 2, policy: SplitPolicy = .standard, seed: UInt64 = 0) throws
        -> (dataset: PersonaMetaDataset, dialogues: [PersonaDialogue], repairs: SyntheticPersonaChat.Repairs) {
        var dialogues = try ConvAI2.read(selfFile: root.file("personachat/valid_self_original_no_cands.txt"),
                                         otherFile: root.file("personachat/valid_other_original_no_cands.txt"),
                                         source: "convai2-valid")
        var repairs = SyntheticPersonaChat.Repairs()
        for split in ["valid", "test"] {
            let (spc, r) = try SyntheticPersonaChat.read(root.file("personachat/spc_\(split).csv"), source: "spc-\(split)")
            dialogues += spc
            repairs.skippedLines += r.skippedLines
            repairs.continuationLines += r.continuationLines
            repairs.untaggedConversations += r.untaggedConversations
            repairs.emptyConversations += r.emptyConversations
        }
        var maps: [MetaSplit: [String: [[String]]]] = [:]
        for split in MetaSplit.allCases { maps[split] = try PersonaMap.read(root.file("personachat/persona_map_\(split.rawValue).json")) }
        return (PersonaMetaDataset(dialogues: dialogues, maps: maps, minimumOverlap: minimumOverlap, policy: policy, seed: seed), dialogues, repairs)
    }
}
