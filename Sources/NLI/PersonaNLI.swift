import Foundation
import Tensor
import Text

// Persona NLI data of the Dialogue-NLI kind (Welleck et al. 2019), built from our own corpora because DNLI is
// not available here. A pair is (premise = an utterance or sentence a speaker says, hypothesis = one persona
// sentence), read the way the consistency score reads it: could a speaker with this persona say this?
//
// How each label is made (every pair records its `kind`):
// - entailment
//   - aligned: a real utterance of the persona's own speaker that states the sentence (nearly all its content
//     words, no added negation or dislike);
//   - paraphrase: another wording of the sentence in its persona-map cluster;
//   - restated: the sentence restated in conversation ("yeah , i'm a nurse .", "no , i'm a nurse", "i work as a nurse",
//     "2" for "two");
//   - denial-agrees: a real utterance denying what a negative sentence denies ("i've no smartphone" for "i do not have a
//     smartphone"), so a negation word alone never decides the label;
// - contradiction
//   - negated: the sentence negated, in several wordings ("i am not", "i don't have any", "i hate" for "i love");
//   - swapped: the same relation with an incompatible value drawn from other personas: another job, home,
//     favourite, count ("no kids" / "three kids"), age, marital status or gender;
//   - clash: a real persona sentence of another cluster that states another value of the same exclusive relation;
//   - clash-utterance: a real utterance (the persona's dialogue partners first) stating another value, jobs also in
//     fragment answers ("construction worker , it is good honest work", "a doctor by trade");
//   - clash-life-stage, denial-utterance: a real utterance at a stage of life the sentence rules out, or denying
//     what the sentence says the speaker has;
//   - clash-diet / swapped-diet (with stated-diet / restated-diet entailments): the other diet, real or worded
//     (`Diet`: "i am a vegan" against "i only eat meat").
// - neutral
//   - other-sentence: another sentence of the same or another persona sharing no content word;
//   - question: a question about the sentence's topic ("do you have any dogs ?");
//   - unrelated-utterance: a real utterance of a dialogue of the persona sharing no content word;
//   - compatible: another value of a non-exclusive relation ("i like pizza" / "i also like pasta").
// Classes are balanced per split; splits are made of whole persona clusters; sentences of excluded personas
// (the meta-test ones) never appear.

/// A persona NLI pair with how it was made and the persona cluster it comes from.
public struct PersonaNLIExample: Equatable, Sendable {
    public var pair: NLIPair
    public var kind: String
    public var cluster: String
}

/// One persona cluster: its id, its sentences (all variants), and real utterances spoken with it.
public struct PersonaNLISource: Sendable {
    public var cluster: String
    public var variants: [[String]]
    /// Utterances of the speaker who has this persona.
    public var ownUtterances: [String]
    /// Utterances of their dialogue partners.
    public var partnerUtterances: [String]

    public init(cluster: String, variants: [[String]], ownUtterances: [String] = [], partnerUtterances: [String] = []) {
        self.cluster = cluster
        self.variants = variants
        self.ownUtterances = ownUtterances
        self.partnerUtterances = partnerUtterances
    }
}

/// A persona sentence parsed into the relation it states, for negation and value swaps.
struct PersonaFact: Equatable {
    enum Relation: String {
        case like, dislike, have, be, workAs, liveIn, from, favorite, age, marital, gender, diet, can, other
    }

    var relation: Relation
    /// The value the relation takes ("dogs", "a nurse", "texas"); for `favorite` the category is `category`.
    var value: [String]
    var category: String = ""
    /// For `have`: the count word ("two", "a", "no") and the noun.
    var count: String = ""
    /// Words of the sentence (normalised).
    var words: [String]

    /// "i am a nurse", "i am an environmental engineer": an article, at most two modifiers, a job word.
    var isJob: Bool {
        relation == .be && (2...4).contains(value.count) && ["a", "an"].contains(value[0]) && PersonaFact.isJobNoun(value, at: value.count - 1)
    }

    /// `words[i]` ends a job title: a job word, or "worker" after the kind of work ("construction worker", not "hard worker").
    static func isJobNoun(_ words: [String], at i: Int) -> Bool {
        jobWords.contains(words[i]) || (words[i] == "worker" && i > 0 && workerKinds.contains(words[i - 1]))
    }
    static let workerKinds: Set<String> = ["construction", "social", "factory", "steel", "farm", "office", "retail", "health",
                                           "case", "dock", "sanitation", "oil", "care", "road", "postal", "government", "city"]

    /// Relations where two different values cannot both hold for one person.
    var isExclusive: Bool {
        switch relation {
        case .workAs, .liveIn, .from, .favorite, .age, .marital, .gender: return true
        case .be: return isJob
        default: return false
        }
    }

    static let likeVerbs: Set<String> = ["like", "love", "enjoy", "adore"]
    static let dislikeVerbs: Set<String> = ["hate", "dislike", "despise", "detest"]
    static let counts = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    static let countNouns: Set<String> = ["kids", "children", "dogs", "cats", "sons", "daughters", "brothers", "sisters",
                                          "siblings", "pets", "horses", "birds", "fish", "grandchildren", "grandkids",
                                          "cars", "kid", "child", "dog", "cat", "son", "daughter", "brother", "sister",
                                          "pet", "horse", "bird", "car", "snakes", "snake", "rabbits", "chickens", "goats"]
    /// Words that end a "i am a ..." phrase naming an occupation (used to tell jobs from other "i am a" facts).
    static let jobWords: Set<String> = ["nurse", "teacher", "doctor", "lawyer", "engineer", "student", "accountant", "chef",
                                        "cook", "farmer", "police", "officer", "firefighter", "mechanic", "writer", "author",
                                        "artist", "musician", "singer", "dancer", "pilot", "driver", "waitress", "waiter",
                                        "bartender", "barista", "cashier", "programmer", "developer", "scientist",
                                        "librarian", "professor", "veterinarian", "vet", "dentist", "plumber",
                                        "electrician", "carpenter", "photographer", "designer", "manager", "secretary",
                                        "janitor", "soldier", "marine", "nanny", "surgeon", "therapist", "pharmacist",
                                        "journalist", "reporter", "actor", "actress", "model", "baker", "butcher",
                                        "lifeguard", "coach", "athlete", "painter", "miner", "fisherman", "truck",
                                        "salesman", "realtor", "hairdresser", "stylist", "banker", "judge", "priest",
                                        "pastor", "preacher", "paramedic", "psychologist", "architect", "welder",
                                        "contractor", "trucker", "housewife", "homemaker", "clerk", "receptionist",
                                        "technician", "analyst", "consultant", "editor", "tutor", "blogger", "comedian",
                                        "wrestler", "cop", "detective", "fireman", "mailman", "postman", "instructor",
                                        "broker", "entrepreneur", "ceo", "supervisor", "dj", "rapper", "drummer", "guitarist",
                                        "pianist", "violinist", "composer", "producer", "director", "animator", "illustrator",
                                        "poet", "novelist", "chemist", "biologist", "physicist", "mathematician", "auditor",
                                        "courier", "astronaut", "sailor", "rancher", "gardener", "landscaper", "roofer",
                                        "machinist", "hygienist", "midwife", "chiropractor", "paralegal", "attorney",
                                        "politician", "mayor", "diplomat", "nun", "monk", "rabbi", "missionary", "youtuber",
                                        "tailor", "seamstress", "jeweler", "florist", "barber", "beautician", "cosmetologist",
                                        "zookeeper", "custodian", "bodyguard", "teller", "pediatrician", "nutritionist",
                                        "dietitian", "bookkeeper", "sheriff", "trooper", "ranger", "guard", "server",
                                        "housekeeper", "maid", "babysitter", "caretaker", "caregiver", "cameraman", "stuntman"]
    static let maritalWords: [String: String] = ["married": "married", "single": "single", "divorced": "divorced",
                                                 "widowed": "widowed", "engaged": "engaged", "widow": "widowed", "widower": "widowed"]
    static let genderWords: [String: String] = ["man": "male", "male": "male", "guy": "male", "boy": "male",
                                                "woman": "female", "female": "female", "girl": "female", "lady": "female"]

    init(words: [String]) {
        self.words = words
        relation = .other
        value = []
        guard words.count >= 2, words[0] == "i" || words[0] == "my" else { return }
        let rest = Array(words.dropFirst(2))
        if words[0] == "my", words.count >= 4, words[1] == "favorite", let isAt = words.firstIndex(of: "is"), isAt >= 3 {
            relation = .favorite
            category = words[2..<isAt].joined(separator: " ")
            value = Array(words[(isAt + 1)...])
            return
        }
        guard words[0] == "i" else { return }
        switch words[1] {
        case let verb where PersonaFact.likeVerbs.contains(verb) && !rest.isEmpty:
            relation = .like
            value = rest
        case let verb where PersonaFact.dislikeVerbs.contains(verb) && !rest.isEmpty:
            relation = .dislike
            value = rest
        case "have" where rest.count >= 2 && (PersonaFact.counts.contains(rest[0]) || rest[0] == "a" || rest[0] == "an" || Int(rest[0]) != nil)
            && PersonaFact.countNouns.contains(rest[1]):
            relation = .have
            count = Int(rest[0]).flatMap { $0 < PersonaFact.counts.count ? PersonaFact.counts[$0] : nil } ?? (rest[0] == "an" ? "a" : rest[0])
            value = [rest[1]] + rest.dropFirst(2)
        case "have" where !rest.isEmpty && rest[0] != "been" && rest[0] != "never" && rest[0] != "to":
            relation = .have
            value = rest
        case "work" where rest.count >= 2 && rest[0] == "as":
            relation = .workAs
            value = Array(rest.dropFirst())
        case "live" where rest.count >= 2 && rest[0] == "in" && !["a", "an", "the", "my"].contains(rest[1]):
            relation = .liveIn
            value = Array(rest.dropFirst())
        case "can" where !rest.isEmpty && rest[0] != "not":
            relation = .can
            value = rest
        case "am":
            if rest.count == 3, let n = Int(rest[0]), rest[1] == "years", rest[2] == "old" {
                relation = .age
                value = ["\(n)"]
            } else if rest.count >= 2, rest[0] == "from", !["a", "an", "the", "my"].contains(rest[1]) {
                relation = .from
                value = Array(rest.dropFirst())
            } else if let state = rest.last.flatMap({ PersonaFact.maritalWords[$0] }), rest.count <= 2 {
                relation = .marital
                value = [state]
            } else if rest.count == 2, ["a", "an"].contains(rest[0]), let gender = PersonaFact.genderWords[rest[1]] {
                relation = .gender
                value = [gender]
            } else if rest.count <= 2, let last = rest.last, ["vegan", "vegetarian"].contains(last) {
                relation = .diet
                value = rest
            } else if !rest.isEmpty, rest[0] != "not", rest[0] != "never" {
                relation = .be
                value = rest
            }
        default:
            break
        }
    }
}

/// Builds the persona NLI pairs; see the notes at the top of this file.
public struct PersonaNLIGenerator {
    public struct Split: Sendable {
        public var train: [PersonaNLIExample] = []
        public var valid: [PersonaNLIExample] = []
        public var test: [PersonaNLIExample] = []
        public var all: [PersonaNLIExample] { train + valid + test }

        public init() {}

        /// Markdown: pairs, clusters and labels per split, then every (label, kind) count per split.
        public var countsTable: String {
            var table = "| split | pairs | clusters | " + NLILabel.allCases.map(\.description).joined(separator: " | ") + " |\n|---|---:|---:|---:|---:|---:|\n"
            var kinds: [String: [Int]] = [:]
            for (index, (name, examples)) in [("train", train), ("valid", valid), ("test", test)].enumerated() {
                let byLabel = NLILabel.allCases.map { label in examples.filter { $0.pair.label == label }.count }
                table += "| \(name) | \(examples.count) | \(Set(examples.map(\.cluster)).count) | " + byLabel.map(String.init).joined(separator: " | ") + " |\n"
                for e in examples { kinds[e.pair.label.description + " / " + e.kind, default: [0, 0, 0]][index] += 1 }
            }
            table += "\n| label / kind | train | valid | test |\n|---|---:|---:|---:|\n"
            for key in kinds.keys.sorted() { table += "| \(key) | " + kinds[key]!.map(String.init).joined(separator: " | ") + " |\n" }
            return table
        }
    }

    public var sources: [PersonaNLISource]
    /// Normalised sentences that must never appear (the meta-test personas').
    public var excluded: Set<String>
    public var seed: UInt64

    public init(sources: [PersonaNLISource], excluded: Set<String>, seed: UInt64 = 11) {
        self.sources = sources
        self.excluded = excluded
        self.seed = seed
    }

    static let stopwords: Set<String> = ["i", "a", "an", "the", "to", "and", "of", "in", "on", "at", "my", "me", "is", "am",
                                         "are", "was", "be", "it", "for", "with", "that", "this", "do", "have", "has", "so",
                                         "you", "your", "like", "love", "really", "very", "just", "but", "or", "as", "from",
                                         "not", "no", "all", "too", "also", "will", "would", "can", "up", "out", "about",
                                         "get", "got", "am", "im", "lot", "lots", "some", "any", "what", "how", "well",
                                         "yes", "yeah", "oh", "haha", "lol", "hi", "hello", "there", "they", "them", "we",
                                         "our", "he", "she", "his", "her", "one", "time", "like", "enjoy", "being", "been"]
    static let negators: Set<String> = ["not", "never", "no", "hate", "dislike", "nope", "neither", "nor", "without", "despise"]

    static func words(_ sentence: String) -> [String] { PersonaNormalizer.normalize(sentence).split(separator: " ").map(String.init) }
    static func content(_ words: [String]) -> Set<String> { Set(words.filter { !stopwords.contains($0) && $0.count > 1 }) }
    /// The content words of a sentence or utterance.
    static func contentWords(_ text: String) -> Set<String> { content(words(text)) }

    /// The sentence as it would be typed in a dialogue: contractions in about half the cases, end punctuation.
    static func surface(_ words: [String], _ rng: inout SeededGenerator) -> String {
        var text = words.joined(separator: " ")
        if rng.next() % 2 == 0 {
            for (long, short) in [("i am", "i'm"), ("do not", "don't"), ("can not", "can't"), ("does not", "doesn't"),
                                  ("i have never", "i've never"), ("is not", "isn't"), ("i will", "i'll"), ("was not", "wasn't")] {
                text = text.replacingOccurrences(of: long, with: short)
            }
        }
        let ends = [" .", ".", " !", ""]
        let end = ends[Int(rng.next() % UInt64(ends.count))]
        return text.hasSuffix("?") ? text : text + end
    }

    static func pick<T>(_ items: [T], _ rng: inout SeededGenerator) -> T { items[Int(rng.next() % UInt64(items.count))] }

    /// Negated wordings of a fact (contradictions); empty when the sentence has no clear negation.
    static func negations(_ fact: PersonaFact) -> [[String]] {
        let v = fact.value
        switch fact.relation {
        case .like: return [["i", "hate"] + v, ["i", "do", "not", "like"] + v, ["i", "can", "not", "stand"] + v,
                            ["i", "really", "dislike"] + v, ["honestly", "i", "hate"] + v]
        case .dislike: return [["i", "love"] + v, ["i", "really", "like"] + v, ["i", "enjoy"] + v, ["i", "am", "a", "big", "fan", "of"] + v]
        case .have where !fact.count.isEmpty:
            let noun = fact.value[0]
            let rest = Array(fact.value.dropFirst())
            if fact.count == "no" { return [["i", "have", "two", noun] + rest, ["i", "have", "a", "few", noun] + rest] }
            return [["i", "do", "not", "have", "any", noun] + rest, ["i", "have", "no", noun] + rest, ["i", "have", "never", "had", noun] + rest,
                    ["i", "wish", "i", "had"] + (fact.count == "a" ? ["a"] : []) + [noun] + rest]
        case .have: return [["i", "do", "not", "have"] + v, ["i", "have", "never", "had"] + v, ["i", "wish", "i", "had"] + v]
        // Wishing for a state or having left it denies being in it now.
        case .be where fact.isJob: return [["i", "am", "not"] + v, ["i", "have", "never", "been"] + v, ["i", "used", "to", "be"] + v,
                                           ["i", "wish", "i", "was"] + v]
        case .be, .diet: return [["i", "am", "not"] + v, ["no", "i", "am", "not"] + v, ["i", "have", "never", "been"] + v,
                                 ["i", "wish", "i", "was"] + v]
        case .workAs: return [["i", "do", "not", "work", "as"] + v, ["i", "have", "never", "worked", "as"] + v, ["i", "used", "to", "work", "as"] + v]
        case .liveIn: return [["i", "do", "not", "live", "in"] + v, ["i", "have", "never", "lived", "in"] + v]
        case .from: return [["i", "am", "not", "from"] + v]
        case .can: return [["i", "can", "not"] + v, ["i", "am", "unable", "to"] + v]
        case .favorite: return [["i", "do", "not", "like"] + v, ["i", "hate"] + v]
        case .marital:
            switch v.first {
            case "married": return [["i", "am", "single"], ["i", "have", "never", "been", "married"], ["i", "am", "divorced"],
                                    ["i", "wish", "i", "was", "married"]]
            case "single": return [["i", "am", "married"], ["my", "wife", "and", "i", "have", "been", "married", "for", "years"],
                                   ["my", "husband", "and", "i", "are", "happily", "married"]]
            default: return [["i", "am", "not", v.first ?? ""]]
            }
        case .gender: return v.first == "male" ? [["i", "am", "a", "woman"], ["i", "am", "a", "girl"]] : [["i", "am", "a", "man"], ["i", "am", "a", "guy"]]
        case .age: return []
        case .other:
            let w = fact.words
            guard w.count >= 3 else { return [] }
            let tail = Array(w.dropFirst(2))
            switch (w[0], w[1]) {
            case ("i", "do") where w[2] == "not": return [["i"] + Array(w.dropFirst(3)), ["i", "really"] + Array(w.dropFirst(3))]
            case ("i", "have") where w[2] == "never": return [["i", "have"] + Array(w.dropFirst(3)), ["i", "have", "often"] + Array(w.dropFirst(3))]
            case ("i", "am") where w[2] == "not": return [["i", "am"] + Array(w.dropFirst(3))]
            case ("i", "was"): return [["i", "was", "never"] + tail, ["i", "was", "not"] + tail]
            case ("i", "will"): return [["i", "will", "never"] + tail]
            case ("i", let verb) where !["have", "am", "can", "was", "will", "would", "do", "did", "had", "could", "should",
                                         "just", "also", "really", "still", "never", "always", "recently", "used", "want",
                                         "wish", "hope", "think"].contains(verb) && !verb.hasSuffix("ed"):
                return [["i", "do", "not", verb] + tail, ["i", "never", verb] + tail]
            case ("my", _):
                if let isAt = w.firstIndex(of: "is"), isAt + 1 < w.count, w[isAt + 1] != "not" {
                    return [Array(w[...isAt]) + ["not"] + Array(w[(isAt + 1)...])]
                }
                return []
            default: return []
            }
        }
    }

    /// Wordings that state the same fact (entailments).
    static func restatements(_ fact: PersonaFact) -> [[String]] {
        let w = fact.words
        // "no , ..." answers a question before stating: the fact is still stated, whatever was denied.
        let wrapped: [[String]] = [["yeah", ","] + w, ["well", ","] + w, w + [",", "what", "about", "you", "?"],
                                   ["haha", ","] + w, ["actually", ","] + w, w + ["and", "i", "am", "proud", "of", "it"],
                                   ["no", ","] + w, ["nope", ","] + w]
        var specific: [[String]] = []
        let v = fact.value
        switch fact.relation {
        case .like: specific = [["i", "really", "love"] + v, v + ["is", "something", "i", "really", "enjoy"]]
        case .workAs: specific = [["i", "am"] + v, ["my", "job", "is", "being"] + v]
        case .be where fact.isJob: specific = [["i", "work", "as"] + v]
        case .have where !fact.count.isEmpty:
            if let n = PersonaFact.counts.firstIndex(of: fact.count), n > 0 {
                specific = [["i", "have", "\(n)"] + v, ["i", "have", "got", fact.count] + v]
            }
        case .liveIn: specific = [["i", "am", "living", "in"] + v, ["my", "home", "is", "in"] + v]
        case .age: specific = [["i", "just", "turned"] + v, ["i", "am"] + v]
        case .other where w.count >= 4 && w[0] == "i" && w[1] == "do" && w[2] == "not":
            // A denial in other words: "i do not have a smartphone" -> "i have no smartphone", "i never ...".
            let tail = Array(w.dropFirst(3))
            specific = [["i", "never"] + tail, ["i", "do", "not", "really"] + tail]
            if tail[0] == "have", tail.count >= 2 {
                let thing = ["a", "an", "any"].contains(tail[1]) ? Array(tail.dropFirst(2)) : Array(tail.dropFirst())
                if !thing.isEmpty { specific += [["i", "have", "no"] + thing, ["i", "do", "not", "own", "a"] + thing] }
            }
        default: break
        }
        return wrapped + specific
    }

    /// A question about the fact's topic (neutral: asking is not stating).
    static func question(_ fact: PersonaFact) -> [String]? {
        let v = fact.value
        switch fact.relation {
        case .like, .dislike: return ["do", "you", "like"] + v + ["?"]
        case .have where !fact.count.isEmpty: return ["do", "you", "have", "any", v[0], "?"]
        case .have: return ["do", "you", "have"] + v + ["?"]
        case .be, .diet: return ["are", "you"] + v + ["?"]
        case .workAs: return ["what", "do", "you", "do", "for", "work", "?"]
        case .liveIn, .from: return ["where", "are", "you", "from", "?"]
        case .favorite: return ["what", "is", "your", "favorite", fact.category, "?"]
        case .age: return ["how", "old", "are", "you", "?"]
        case .marital: return ["are", "you", "married", "?"]
        case .can: return ["can", "you"] + v + ["?"]
        default: return nil
        }
    }

    public func generate(perClassCap: Int = 20_000) -> Split {
        var rng = SeededGenerator(seed: seed)
        let (clusterOrder, candidates) = candidates(&rng)
        // Splits by cluster, then balanced classes within each split; within a class every kind is capped so one
        // template cannot dominate. The split has its own generator, so a change to how pairs are made never moves
        // a cluster between train and test (a model trained on an earlier version stays clean on the test split).
        var order = clusterOrder
        var splitRng = SeededGenerator(seed: seed &+ 0x5EED)
        order.shuffle(using: &splitRng)
        let nValid = max(1, order.count / 10), nTest = max(1, order.count / 10)
        let validClusters = Set(order.prefix(nValid)), testClusters = Set(order.dropFirst(nValid).prefix(nTest))
        func part(_ example: PersonaNLIExample) -> Int {
            validClusters.contains(example.cluster) ? 1 : testClusters.contains(example.cluster) ? 2 : 0
        }
        var split = Split()
        for index in 0..<3 {
            var byClass: [NLILabel: [PersonaNLIExample]] = [:]
            for label in NLILabel.allCases {
                var seen = Set<String>()
                let unique = (candidates[label] ?? []).filter { part($0) == index && seen.insert($0.pair.premise + "\t" + $0.pair.hypothesis).inserted }
                byClass[label] = Self.capped(unique, perKind: max(1, unique.count / 3), &rng)
            }
            let size = min(perClassCap, byClass.values.map(\.count).min() ?? 0)
            var examples = NLILabel.allCases.flatMap { Array(byClass[$0]!.shuffled(using: &rng).prefix(size)) }
            examples.shuffle(using: &rng)
            switch index {
            case 0: split.train = examples
            case 1: split.valid = examples
            default: split.test = examples
            }
        }
        return split
    }

    /// Every candidate pair by label, before splitting and balancing, and the clusters in their sorted order.
    func candidates(_ rng: inout SeededGenerator) -> (clusters: [String], byLabel: [NLILabel: [PersonaNLIExample]]) {
        // Usable sentences per cluster (normalised words and surface), minus excluded ones.
        struct Sentence { let surface: String; let words: [String]; let fact: PersonaFact; let content: Set<String> }
        var clusters: [(source: PersonaNLISource, sentences: [Sentence])] = []
        var seenWords = Set<[String]>()
        for source in sources.sorted(by: { $0.cluster < $1.cluster }) {
            var sentences: [Sentence] = []
            for variant in source.variants {
                for surface in variant {
                    let normalised = PersonaNormalizer.normalize(surface)
                    let words = normalised.split(separator: " ").map(String.init)
                    guard words.count >= 2, !excluded.contains(normalised), seenWords.insert(words).inserted else { continue }
                    sentences.append(Sentence(surface: surface, words: words, fact: PersonaFact(words: words),
                                              content: Self.content(words)))
                }
            }
            if !sentences.isEmpty { clusters.append((source, sentences)) }
        }
        // Value pools of the exclusive relations, for swaps and clashes.
        var pools: [String: [[String]]] = [:]
        func poolKey(_ fact: PersonaFact) -> String {
            switch fact.relation {
            case .favorite: return "favorite:" + fact.category
            case .be: return "be-job"
            case .workAs: return "be-job"
            default: return fact.relation.rawValue
            }
        }
        for (_, sentences) in clusters {
            for s in sentences where s.fact.isExclusive && !s.fact.value.isEmpty && s.fact.value.count <= 4 {
                pools[poolKey(s.fact), default: []].append(s.fact.value)
            }
        }
        for key in pools.keys { pools[key] = Array(Set(pools[key]!)).sorted { $0.joined(separator: " ") < $1.joined(separator: " ") } }
        var clashes: [String: [(cluster: String, sentence: Sentence)]] = [:]
        for (source, sentences) in clusters {
            for s in sentences where s.fact.isExclusive { clashes[poolKey(s.fact), default: []].append((source.cluster, s)) }
        }

        // Facts stated in real utterances: each clause parsed like a persona sentence. Exclusive facts give real
        // contradictions (another job, home, favourite...), "i do not have any pets" gives have-negations.
        // Stages of life stated in real utterances ("i am 40", "i just started the third grade", "i am retired").
        var utteranceFacts: [String: [(utterance: String, value: [String])]] = [:]
        var haveNegations: [String: [String]] = [:]   // noun -> utterances denying having it
        var denials: [Set<String>: [String]] = [:]     // content of the thing denied -> utterances denying it
        var partnerFacts: [String: [String: [(utterance: String, value: [String])]]] = [:]   // cluster -> pool key -> facts
        var utteranceStages: [(utterance: String, stage: LifeStage)] = []
        var utteranceDiets: [(utterance: String, diet: Diet)] = []
        for (source, _) in clusters {
            let own = Set(source.ownUtterances)
            for utterance in source.ownUtterances + source.partnerUtterances {
                var stated: LifeStage?
                var diet: Diet?
                for clause in Self.declarativeClauses(utterance) {
                    let words = Self.words(clause)
                    let fact = PersonaFact(words: words)
                    let placeLike = fact.relation == .liveIn || fact.relation == .from
                    var statedFact: (key: String, value: [String])?
                    if fact.isExclusive, (1...(placeLike ? 2 : 4)).contains(fact.value.count) { statedFact = (poolKey(fact), fact.value) }
                    else if let job = Self.statedJob(words) { statedFact = ("be-job", job) }
                    if let statedFact {
                        utteranceFacts[statedFact.key, default: []].append((utterance, statedFact.value))
                        if !own.contains(utterance) {
                            partnerFacts[source.cluster, default: [:]][statedFact.key, default: []].append((utterance, statedFact.value))
                        }
                    }
                    if let noun = Self.deniedNoun(words) { haveNegations[noun, default: []].append(utterance) }
                    if let thing = Self.deniedThing(words) { denials[Self.content(thing), default: []].append(utterance) }
                    if stated == nil { stated = LifeStage.of(words) }
                    if diet == nil { diet = Diet.of(words) }
                }
                if let stated { utteranceStages.append((utterance, stated)) }
                if let diet { utteranceDiets.append((utterance, diet)) }
            }
        }

        var candidates: [NLILabel: [PersonaNLIExample]] = [:]
        func add(_ premise: String, _ hypothesis: Sentence, _ label: NLILabel, _ kind: String, _ cluster: String, _ rng: inout SeededGenerator) {
            let hypothesisText = hypothesis.surface.hasSuffix(".") || rng.next() % 2 == 0 ? hypothesis.surface : hypothesis.surface + " ."
            candidates[label, default: []].append(PersonaNLIExample(
                pair: NLIPair(id: 0, premise: premise, hypothesis: hypothesisText, label: label), kind: kind, cluster: cluster))
        }
        let allSentences = clusters.flatMap { c in c.sentences.map { (c.source.cluster, $0) } }
        /// A generated sentence placed inside real chit-chat half the time (before or after a real utterance that
        /// shares no content word with `s` and negates nothing), so the scorer learns to find the claim in a turn.
        func inContext(_ text: String, _ s: Sentence, _ pool: [String], _ rng: inout SeededGenerator) -> String {
            guard !pool.isEmpty, rng.next() % 2 == 0 else { return text }
            let other = Self.pick(pool, &rng)
            let words = Self.words(other)
            guard Self.content(words).isDisjoint(with: s.content), Set(words).isDisjoint(with: Self.negators) else { return text }
            return rng.next() % 2 == 0 ? other + " " + text : text + " " + other
        }

        for (source, sentences) in clusters {
            let cluster = source.cluster
            for s in sentences {
                let fact = s.fact
                // Entailment: aligned real utterances of the persona's own speaker.
                if s.content.count >= 2 {
                    for utterance in source.ownUtterances {
                        let u = Self.words(utterance)
                        let shared = s.content.intersection(u)
                        let addedNegation = Set(u).intersection(Self.negators).subtracting(s.words)
                        if Double(shared.count) >= 0.75 * Double(s.content.count), addedNegation.isEmpty, !utterance.contains("?") {
                            add(utterance, s, .entailment, "aligned", cluster, &rng)
                        }
                    }
                }
                // Entailment: restatements; paraphrases from the cluster's other wordings.
                let chat = source.ownUtterances + source.partnerUtterances
                for words in Self.restatements(fact).shuffled(using: &rng).prefix(2) {
                    add(inContext(Self.surface(words, &rng), s, chat, &rng), s, .entailment, "restated", cluster, &rng)
                }
                for other in sentences where other.words != s.words && other.content.count >= 2 && s.content.count >= 2
                    && other.content == s.content {
                    add(Self.surface(other.words, &rng), s, .entailment, "paraphrase", cluster, &rng)
                }
                // Contradiction: negations.
                for words in Self.negations(fact).shuffled(using: &rng).prefix(2) {
                    add(inContext(Self.surface(words, &rng), s, chat, &rng), s, .contradiction, "negated", cluster, &rng)
                }
                // Contradiction: real utterances stating another value of the same exclusive relation, first those of
                // the persona's own dialogue partners (how real contradictions are found), then any.
                if fact.isExclusive {
                    let key = poolKey(fact), valueContent = Self.content(fact.value)
                    let statedFacts = utteranceFacts[key] ?? []
                    let partners = (partnerFacts[cluster]?[key] ?? []).shuffled(using: &rng)
                    let anyone = statedFacts.shuffled(using: &rng).prefix(200)
                    var used = Set<String>()
                    for stated in partners + anyone where used.count < 3 && !used.contains(stated.utterance)
                        && Set(stated.value).isDisjoint(with: valueContent) && !Self.content(stated.value).isEmpty {
                        used.insert(stated.utterance)
                        add(stated.utterance, s, .contradiction, "clash-utterance", cluster, &rng)
                    }
                    // Entailment: real utterances stating the same value ("i work as a plumber lol" for "i am a
                    // plumber"), so the relation's wording alone never decides the label.
                    var same = 0
                    for stated in statedFacts.shuffled(using: &rng).prefix(400) where same < 2
                        && !valueContent.isEmpty && Self.content(stated.value) == valueContent
                        && Set(Self.words(stated.utterance)).intersection(Self.negators).isEmpty {
                        same += 1
                        add(stated.utterance, s, .entailment, "stated-utterance", cluster, &rng)
                    }
                }
                // Contradiction: a real utterance placing the speaker at a stage of life the sentence rules out;
                // neutral: one at a compatible stage (a stated age alone contradicts nothing).
                if let stage = LifeStage.of(s.words), !utteranceStages.isEmpty {
                    var clashes = 0, compatible = 0
                    for _ in 0..<60 where clashes < 2 || compatible < 1 {
                        let other = Self.pick(utteranceStages, &rng)
                        if stage.conflicts(with: other.stage) {
                            if clashes < 2 { add(other.utterance, s, .contradiction, "clash-life-stage", cluster, &rng); clashes += 1 }
                        } else if compatible < 1, Self.contentWords(other.utterance).isDisjoint(with: s.content) {
                            add(other.utterance, s, .neutral, "compatible-life-stage", cluster, &rng)
                            compatible += 1
                        }
                    }
                }
                // Diets: a real utterance (or a wording) of the other diet contradicts, one of the same diet in other
                // words entails ("i don't eat meat at all" for "i am a vegetarian").
                if let diet = Diet.of(s.words) {
                    let other: Diet = diet == .meatless ? .meatEating : .meatless
                    let real = utteranceDiets.shuffled(using: &rng)
                    for clash in real.filter({ $0.diet == other }).prefix(2) { add(clash.utterance, s, .contradiction, "clash-diet", cluster, &rng) }
                    if let same = real.first(where: { $0.diet == diet && Self.contentWords($0.utterance) != s.content }) {
                        add(same.utterance, s, .entailment, "stated-diet", cluster, &rng)
                    }
                    add(inContext(Self.surface(Self.pick(other.wordings, &rng), &rng), s, chat, &rng), s, .contradiction, "swapped-diet", cluster, &rng)
                    let restated = diet.wordings.filter { Self.content($0) != s.content }
                    if !restated.isEmpty {
                        add(inContext(Self.surface(Self.pick(restated, &rng), &rng), s, chat, &rng), s, .entailment, "restated-diet", cluster, &rng)
                    }
                }
                // Contradiction: a real utterance denying what the sentence says the speaker has.
                if fact.relation == .have, fact.count != "no", let noun = fact.value.first, let family = Self.family(of: noun) {
                    // Denying the same noun, or the family's general word ("no pets" denies "two dogs").
                    let deniers = Self.generalWords[family]!.union([noun, noun.hasSuffix("s") ? String(noun.dropLast()) : noun + "s"])
                    if let denial = deniers.sorted().flatMap({ haveNegations[$0] ?? [] }).shuffled(using: &rng).first {
                        add(denial, s, .contradiction, "denial-utterance", cluster, &rng)
                    }
                }
                // Entailment: a real utterance denying what the sentence denies ("i've no smartphone" for "i do not have
                // a smartphone"): a negation that agrees is no contradiction.
                if let thing = Self.deniedThing(s.words) {
                    for denial in (denials[Self.content(thing)] ?? []).shuffled(using: &rng).prefix(2) {
                        add(denial, s, .entailment, "denial-agrees", cluster, &rng)
                    }
                }
                // Contradiction: swapped value of an exclusive relation; clash with another persona's sentence.
                if fact.isExclusive, let pool = pools[poolKey(fact)], pool.count > 1 {
                    for _ in 0..<2 {
                        let value = Self.pick(pool, &rng)
                        guard value != fact.value, Set(value).isDisjoint(with: Self.content(fact.value)) else { continue }
                        let prefix = Array(fact.words.prefix(fact.words.count - fact.value.count))
                        add(inContext(Self.surface(prefix + value, &rng), s, chat, &rng), s, .contradiction,
                            "swapped-\(fact.relation.rawValue)", cluster, &rng)
                    }
                    if let others = clashes[poolKey(fact)], let other = others.shuffled(using: &rng).first(where: {
                        $0.cluster != cluster && Set($0.sentence.fact.value).isDisjoint(with: Self.content(fact.value))
                            && $0.sentence.fact.relation == fact.relation
                    }) {
                        add(other.sentence.surface, s, .contradiction, "clash-\(fact.relation.rawValue)", cluster, &rng)
                    }
                }
                if fact.relation == .have, !fact.count.isEmpty, fact.count != "no" {
                    let other = Self.pick(PersonaFact.counts.filter { $0 != fact.count && $0 != "no" }, &rng)
                    // "i have two kids" vs "i have five kids": counts of the same thing are exclusive.
                    add(Self.surface(["i", "have", other] + fact.value, &rng), s, .contradiction, "swapped-count", cluster, &rng)
                }
                // Neutral: other sentences (same persona and others) sharing no content word.
                for other in sentences.shuffled(using: &rng).prefix(3) where other.words != s.words && other.content.isDisjoint(with: s.content) {
                    add(Self.surface(other.words, &rng), s, .neutral, "other-sentence", cluster, &rng)
                    break
                }
                for _ in 0..<2 {
                    let (otherCluster, other) = Self.pick(allSentences, &rng)
                    if otherCluster != cluster, other.content.isDisjoint(with: s.content), poolKey(other.fact) != poolKey(fact) || !fact.isExclusive {
                        add(other.surface, s, .neutral, "other-sentence", cluster, &rng)
                    }
                }
                if let question = Self.question(fact) {
                    add(inContext(question.joined(separator: " "), s, chat, &rng), s, .neutral, "question", cluster, &rng)
                }
                // Neutral: a real question on the sentence's topic (asking states nothing).
                if let asked = chat.shuffled(using: &rng).prefix(40).first(where: {
                    Self.isPureQuestion($0) && !Self.contentWords($0).isDisjoint(with: s.content)
                }) {
                    add(asked, s, .neutral, "topic-question", cluster, &rng)
                }
                // Neutral: real utterances of the persona's dialogues that share no content word with the sentence.
                let pool = source.ownUtterances + source.partnerUtterances
                for _ in 0..<2 where !pool.isEmpty {
                    let utterance = Self.pick(pool, &rng)
                    if Self.contentWords(utterance).isDisjoint(with: s.content) {
                        add(utterance, s, .neutral, "unrelated-utterance", cluster, &rng)
                    }
                }
                // Neutral: another value of a non-exclusive relation.
                if fact.relation == .like, let other = allSentences.shuffled(using: &rng).prefix(20).first(where: {
                    $0.1.fact.relation == .like && $0.1.content.isDisjoint(with: s.content)
                }) {
                    add(Self.surface(["i", "also", "like"] + other.1.fact.value, &rng), s, .neutral, "compatible", cluster, &rng)
                }
            }
        }

        return (clusters.map(\.source.cluster), candidates)
    }

    /// The clauses of an utterance's statements, cut at sentence ends, commas and semicolons; the clause that
    /// ends in "?" is dropped (asking states nothing), so "i am 40 , how about you ?" keeps "i am 40".
    static func declarativeClauses(_ utterance: String) -> [String] {
        var clauses: [String] = [], sentence = ""
        for character in utterance.lowercased() {
            sentence.append(character)
            guard ".!?".contains(character) else { continue }
            let parts = sentence.split(whereSeparator: { ".!?,;".contains($0) }).map(String.init)
            clauses += character == "?" ? Array(parts.dropLast()) : parts
            sentence = ""
        }
        clauses += sentence.split(whereSeparator: { ".!,;".contains($0) }).map(String.init)
        return clauses.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    static let families: [String: Set<String>] = [
        "pets": ["pets", "pet", "dogs", "dog", "cats", "cat", "animals", "horses", "horse", "birds", "bird", "fish", "puppy", "puppies", "kitten", "kittens"],
        "children": ["kids", "kid", "children", "child", "sons", "son", "daughters", "daughter", "babies", "baby"],
        "siblings": ["siblings", "sibling", "brothers", "brother", "sisters", "sister"],
    ]

    /// One sentence that asks and states nothing: ends with "?", no other sentence in it, opens with a question word.
    static func isPureQuestion(_ utterance: String) -> Bool {
        let text = utterance.trimmingCharacters(in: .whitespaces)
        guard text.hasSuffix("?"), !text.dropLast().contains(where: { ".!?".contains($0) }) else { return false }
        let openers: Set<String> = ["do", "does", "are", "is", "what", "how", "have", "has", "can", "where", "who", "which",
                                    "would", "did", "any", "whats", "when", "why", "will"]
        return words(text).first.map(openers.contains) ?? false
    }

    static let generalWords: [String: Set<String>] = ["pets": ["pets", "pet", "animals"], "children": ["kids", "children"],
                                                      "siblings": ["siblings"]]

    /// The noun family ("pets", "children", "siblings") a word belongs to.
    static func family(of noun: String) -> String? { families.first { $0.value.contains(noun) }?.key }

    /// The noun a clause denies having: "i do not have any pets", "i have no kids", "i do not have a dog".
    static func deniedNoun(_ w: [String]) -> String? {
        guard let rest = denied(w, owning: false), let noun = rest.first, rest.count <= 2, family(of: noun) != nil else { return nil }
        return noun
    }

    /// The words after a first-person denial of having ("i do not have", "i have no", "i have never had"; with
    /// `owning`, also "i do not own", "i have never owned") and its article, or nil when the clause denies nothing.
    static func denied(_ w: [String], owning: Bool) -> ArraySlice<String>? {
        guard w.count >= 3, w[0] == "i" else { return nil }
        var rest = ArraySlice(w.dropFirst())
        if rest.starts(with: ["do", "not", "have"]) || owning && rest.starts(with: ["do", "not", "own"]) { rest = rest.dropFirst(3) }
        else if rest.starts(with: ["have", "no"]) { rest = rest.dropFirst(2) }
        else if rest.starts(with: ["have", "never", "had"]) || owning && rest.starts(with: ["have", "never", "owned"]) { rest = rest.dropFirst(3) }
        else { return nil }
        if let first = rest.first, ["any", "a", "an"].contains(first) { rest = rest.dropFirst() }
        return rest
    }

    /// The job a clause of a real utterance states, as "a" + title: "i am a nurse at a home", "i work as a bank
    /// teller", "my job is being a cook", and fragment answers "a doctor by trade", "construction worker".
    static func statedJob(_ clause: [String]) -> [String]? {
        var w = ArraySlice(clause.drop { ["well", "yes", "yeah", "no", "oh", "um", "actually", "just", "lol", "haha", "ok", "okay"].contains($0) })
        var fragment = false
        if w.starts(with: ["i", "am"]) { w = w.dropFirst(2) }
        else if w.starts(with: ["i", "work", "as"]) { w = w.dropFirst(3) }
        else if w.starts(with: ["my", "job", "is"]) { w = w.dropFirst(3); if w.first == "being" { w = w.dropFirst() } }
        else { fragment = true }
        let hasArticle = w.first == "a" || w.first == "an"
        if hasArticle { w = w.dropFirst() } else if !fragment { return nil }
        // A fragment answer is short and names the job in its first words ("a nurse", "school teacher here").
        if fragment && (clause.count > 7 || ["i", "my", "you", "your", "we", "he", "she", "it", "they"].contains(w.first ?? "")) { return nil }
        let title = Array(w.prefix(3))
        guard let end = title.indices.first(where: { PersonaFact.isJobNoun(title, at: $0) }) else { return nil }
        let words = Array(title[...end])
        if words.contains(where: { stopwords.contains($0) && $0 != words.last }) { return nil }
        return ["a"] + words
    }

    /// What a clause denies having, any noun: "i do not have a smartphone", "i've no car", "i do not own a tv".
    static func deniedThing(_ w: [String]) -> [String]? {
        guard let rest = denied(w, owning: true), (1...3).contains(rest.count), !content(Array(rest)).isEmpty else { return nil }
        return Array(rest)
    }

    /// A sentence that contradicts `sentence` (its negation, in one of several wordings), or nil when no rule
    /// applies. Used to build contradiction transcripts for checking the scorer.
    public static func contradiction(of sentence: String, using rng: inout SeededGenerator) -> String? {
        let options = negations(PersonaFact(words: words(sentence)))
        return options.isEmpty ? nil : surface(pick(options, &rng), &rng)
    }

    /// At most `perKind` examples of each kind (randomly chosen).
    static func capped(_ examples: [PersonaNLIExample], perKind: Int, _ rng: inout SeededGenerator) -> [PersonaNLIExample] {
        let byKind = Dictionary(grouping: examples, by: \.kind)
        return byKind.keys.sorted().flatMap { Array(byKind[$0]!.shuffled(using: &rng).prefix(perKind)) }
    }
}

extension PersonaNLIGenerator {
    /// Sources from the real corpora: every persona-map cluster outside the meta-valid and meta-test splits
    /// (meta-train clusters with their dialogues, and the map clusters no dialogue uses), and the normalised
    /// sentences of every meta-valid and meta-test persona to exclude. Meta-valid personas stay out so that the
    /// hand-labelled real validation set (drawn from them) can choose between scorers.
    public static func sources(dataset: PersonaMetaDataset, maps: [MetaSplit: [String: [[String]]]])
        -> (sources: [PersonaNLISource], excluded: Set<String>) {
        var excluded = Set<String>()
        var testClusters = Set<String>()
        for task in dataset.tasks(in: .test) + dataset.tasks(in: .valid) {
            testClusters.insert(task.id)
            for side in task.dialogues { for sentence in side.persona { excluded.insert(PersonaNormalizer.normalize(sentence)) } }
        }
        var sources: [String: PersonaNLISource] = [:]
        for (split, clusters) in maps {
            for (id, variants) in clusters where !testClusters.contains("\(split.rawValue)/\(id)") {
                sources["\(split.rawValue)/\(id)"] = PersonaNLISource(cluster: "\(split.rawValue)/\(id)", variants: variants)
            }
        }
        for task in dataset.tasks(in: .train) {
            var source = sources[task.id] ?? PersonaNLISource(cluster: task.id, variants: [])
            for side in task.dialogues {
                source.variants.append(side.persona)
                source.ownUtterances += side.examples.map(\.response)
                source.partnerUtterances += side.examples.compactMap { $0.history.last }
            }
            sources[task.id] = source
        }
        // A meta-test sentence can also sit in another cluster's variants: drop those sentences there too.
        return (sources.keys.sorted().map { sources[$0]! }, excluded)
    }

    /// The generator over the real corpora under `root` (meta-dataset of `dataSeed`, whose meta-test personas are excluded).
    public static func fromCorpora(_ root: CorpusRoot, dataSeed: UInt64 = 0, seed: UInt64 = 11) throws -> PersonaNLIGenerator {
        let (dataset, _, _) = try PersonaMetaDataset.load(root: root, seed: dataSeed)
        var maps: [MetaSplit: [String: [[String]]]] = [:]
        for split in MetaSplit.allCases { maps[split] = try PersonaMap.read(root.file("personachat/persona_map_\(split.rawValue).json")) }
        let (sources, excluded) = PersonaNLIGenerator.sources(dataset: dataset, maps: maps)
        return PersonaNLIGenerator(sources: sources, excluded: excluded, seed: seed)
    }

    /// Writes `examples` as TSV: premise, hypothesis, label, kind, cluster (a header line first).
    public static func write(_ examples: [PersonaNLIExample], to url: URL) throws {
        var text = "premise\thypothesis\tlabel\tkind\tcluster\n"
        for e in examples {
            text += [e.pair.premise, e.pair.hypothesis, e.pair.label.description, e.kind, e.cluster]
                .map { $0.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ") }
                .joined(separator: "\t") + "\n"
        }
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

/// The hand-labelled real sets (`Corpora/persona-nli-real-{train,valid,test}.tsv`): header
/// `pair_id cluster dialogue speaker how premise hypothesis label`, tab-separated. The persona sentence is the
/// `premise` column there; it becomes the NLI hypothesis (the utterance is the NLI premise), as the scorer reads pairs.
public enum HandLabelledPersonaNLI {
    public static let header = ["pair_id", "cluster", "dialogue", "speaker", "how", "premise", "hypothesis", "label"]

    public static func read(_ url: URL) throws -> [(pair: NLIPair, speaker: String, how: String)] {
        let lines = TextFile.lines(try TextFile.string(url))
        guard let first = lines.first, first.split(separator: "\t").map(String.init) == header else {
            throw TextError(file: url.path, line: 1, "header must be \(header.joined(separator: " TAB "))")
        }
        var out: [(pair: NLIPair, speaker: String, how: String)] = []
        for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == header.count else {
                throw TextError(file: url.path, line: index + 1, "\(fields.count) fields, expected \(header.count)")
            }
            guard let label = NLILabel(sick: fields[7]) else {
                throw TextError(file: url.path, line: index + 1, "label '\(fields[7])' is not entailment, neutral or contradiction")
            }
            out.append((NLIPair(id: index, premise: fields[6], hypothesis: fields[5], label: label), fields[3], fields[4]))
        }
        return out
    }

    /// Relations whose values clash with facts of other relations too (a stated age rules out a job, a child rules
    /// out a marriage), so their pairs never become topic contrasts.
    static let wideRelations: Set<String> = ["age", "school", "family", "marital", "gender", "health"]

    /// Neutral counterparts of the hand-labelled contradictions and entailments: each such utterance against a
    /// persona sentence of another relation that shares none of its content words. Real contradictions are mostly
    /// on-topic denials and other values; alone they teach "a denial contradicts any persona sentence", which these
    /// pairs (the same utterances, off topic) take back. The entailing utterances' counterparts do the same for
    /// "a first-person statement entails", and bring the contradiction share of the real pairs nearer its rarity in
    /// talk. Labelled by construction, not by reading.
    public static func topicContrasts(_ rows: [(pair: NLIPair, speaker: String, how: String)], seed: UInt64) -> [NLIPair] {
        let content = PersonaNLIGenerator.contentWords
        var rng = SeededGenerator(seed: seed)
        // Each persona sentence once, with its relation and content words, in file order (deterministic).
        var seen = Set<String>()
        let sentences = rows.filter { !wideRelations.contains($0.how) && seen.insert($0.pair.hypothesis).inserted }
            .map { (text: $0.pair.hypothesis, how: $0.how, content: content($0.pair.hypothesis)) }
        var out: [NLIPair] = []
        for row in rows where row.pair.label != .neutral && !wideRelations.contains(row.how) {
            let taken = content(row.pair.premise).union(content(row.pair.hypothesis))
            let candidates = sentences.filter { $0.how != row.how && $0.content.isDisjoint(with: taken) }
            guard let other = candidates.randomElement(using: &rng) else { continue }
            out.append(NLIPair(id: row.pair.id, premise: row.pair.premise, hypothesis: other.text, label: .neutral))
        }
        return out
    }
}
