import Foundation
import Text

// The fact-recall probe of the PAML reproduction asks a persona for one kind of fact (job, pets, home, family, age,
// likes, favourite things) with a question people ask in the corpus, and counts the answer when the consistency
// scorer labels it entailing the persona's sentence of that kind (the +1 of C).
//
// The questions are mined, not written: in the dialogues given (meta-train), a partner's question counts for a topic
// each time the reply states a fact of that topic. A question is kept for a topic when it was asked often enough,
// led to that topic often enough, and never holds a content word of the value it led to ("do you like dogs ?"
// before "i love dogs" gives the answer away, "do you have any pets ?" does not).

/// One mined question and how it was used in the corpus.
public struct PersonaQuestion: Codable, Equatable, Sendable {
    public var topic: String
    public var question: String
    /// Times it was the partner's question before a reply, and of those, replies stating a fact of `topic`.
    public var asked: Int
    public var answeredOnTopic: Int
}

public enum PersonaQuestions {
    /// The topic a persona sentence (or a reply's clause) states, and the content words of its value; nil when it
    /// states nothing the probe asks about.
    public static func topic(of sentence: String) -> (topic: String, value: Set<String>)? {
        let fact = PersonaFact(words: PersonaNLIGenerator.words(sentence))
        // A count ("two kids") is what a counted fact answers: the noun is the topic a question names.
        let value = fact.count.isEmpty ? PersonaNLIGenerator.content(fact.value) : [fact.count]
        switch fact.relation {
        case .workAs: return ("job", value)
        case .be where fact.isJob: return ("job", value)
        case .liveIn, .from: return ("home", value)
        case .age: return ("age", value)
        case .be where fact.value.count == 1 && Int(fact.value[0]) != nil: return ("age", value)   // "i am 25"
        case .marital: return ("marital status", value)
        case .favorite: return ("favorite " + fact.category, value)
        case .like: return ("likes", value)
        case .have:
            guard let noun = fact.value.first, let family = PersonaNLIGenerator.family(of: noun) else { return nil }
            return (family, value)
        default: return nil
        }
    }

    /// Words that open a question without changing it ("so where are you from ?").
    static let openers: Set<String> = ["so", "and", "well", "ok", "okay", "oh", "cool", "nice", "lol", "but", "hey"]

    /// The last sentence of an utterance that asks ("... . so what do you do ?" -> "what do you do ?"), normalised,
    /// without the words in `openers` before it.
    static func lastQuestion(_ utterance: String) -> String? {
        var sentence = "", last: String?
        for character in utterance.lowercased() {
            sentence.append(character)
            guard ".!?".contains(character) else { continue }
            if character == "?" {
                let words = PersonaNormalizer.normalize(sentence).split(separator: " ").drop { openers.contains(String($0)) }
                if !words.isEmpty { last = words.joined(separator: " ") + " ?" }
            }
            sentence = ""
        }
        return last
    }

    /// The questions of each topic, best first: asked >= `minAsked` times, on topic in >= `minShare` of them, at most
    /// `perTopic` per topic; ties broken by the text so the list is deterministic.
    public static func mine(_ tasks: [PersonaTask], minAsked: Int = 5, minShare: Double = 0.25,
                            perTopic: Int = 2) -> [PersonaQuestion] {
        var asked: [String: Int] = [:]
        var onTopic: [String: [String: Int]] = [:]
        for task in tasks {
            for side in task.dialogues {
                for example in side.examples {
                    guard let partner = example.history.last, let question = lastQuestion(partner) else { continue }
                    asked[question, default: 0] += 1
                    let words = Set(question.split(separator: " ").map(String.init))
                    var topics = Set<String>()
                    for clause in PersonaNLIGenerator.declarativeClauses(example.response) {
                        guard let (topic, value) = topic(of: clause), !value.isEmpty, value.isDisjoint(with: words) else { continue }
                        topics.insert(topic)
                    }
                    for topic in topics { onTopic[question, default: [:]][topic, default: 0] += 1 }
                }
            }
        }
        var byTopic: [String: [PersonaQuestion]] = [:]
        for (question, topics) in onTopic {
            let n = asked[question]!
            guard n >= minAsked else { continue }
            for (topic, hits) in topics where Double(hits) >= minShare * Double(n) {
                byTopic[topic, default: []].append(PersonaQuestion(topic: topic, question: question, asked: n, answeredOnTopic: hits))
            }
        }
        return byTopic.keys.sorted().flatMap { topic in
            byTopic[topic]!.sorted { ($0.answeredOnTopic, $1.question) > ($1.answeredOnTopic, $0.question) }.prefix(perTopic)
        }
    }

    /// One probe: a question put to a persona, and the persona's sentences of its topic.
    public struct Probe: Equatable, Sendable {
        public var topic: String
        public var question: String
        public var sentences: [String]

        public init(topic: String, question: String, sentences: [String]) {
            (self.topic, self.question, self.sentences) = (topic, question, sentences)
        }
    }

    /// The probes for one persona: every mined question of every topic the persona states, once.
    public static func probes(persona: [String], questions: [PersonaQuestion]) -> [Probe] {
        var sentencesOf: [String: [String]] = [:]
        for sentence in persona { if let (topic, _) = topic(of: sentence) { sentencesOf[topic, default: []].append(sentence) } }
        return questions.compactMap { q in sentencesOf[q.topic].map { Probe(topic: q.topic, question: q.question, sentences: $0) } }
    }
}
