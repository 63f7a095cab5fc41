import Foundation
import Tensor
import Text

/// What the encoder sees: the history alone (the Dialogue and PAML models) or the persona sentences
/// followed by the history (Dialogue+Persona, the paper's upper bound).
public struct DialogueFormat: Codable, Equatable, Sendable {
    public var includesPersona: Bool
    /// Earlier turns kept (most recent last); PAML feeds the whole history, which these limits bound.
    public var maxHistoryTurns: Int
    /// Source tokens kept, counted from the end (the latest turns matter most).
    public var maxSourceTokens: Int
    /// Response tokens kept for training (PAML decodes at most 20).
    public var maxResponseTokens: Int

    public init(includesPersona: Bool = false, maxHistoryTurns: Int = 4, maxSourceTokens: Int = 128,
                maxResponseTokens: Int = 30) {
        self.includesPersona = includesPersona
        self.maxHistoryTurns = maxHistoryTurns
        self.maxSourceTokens = maxSourceTokens
        self.maxResponseTokens = maxResponseTokens
    }
}

extension DialogueFormat: ValidatedConfig {
    public func validate() throws {
        try Check.within(maxHistoryTurns, 1...1000, "format.maxHistoryTurns")
        try Check.within(maxSourceTokens, 1...100_000, "format.maxSourceTokens")
        try Check.within(maxResponseTokens, 1...10_000, "format.maxResponseTokens")
    }
}

/// An example as token ids: the encoder input and the response (without SOS/EOS).
public struct EncodedExample: Equatable, Sendable {
    public var source: [Int]
    public var response: [Int]
    public init(source: [Int], response: [Int]) {
        self.source = source
        self.response = response
    }
}

/// Turns text examples into ids with one tokenizer, vocabulary and format.
public struct ExampleEncoder: Sendable {
    public let vocabulary: Vocabulary
    public let format: DialogueFormat
    public let tokenizer = Tokenizer()

    public init(vocabulary: Vocabulary, format: DialogueFormat) {
        self.vocabulary = vocabulary
        self.format = format
    }

    /// Source ids: persona tokens (when the format includes them, at most half the budget) followed by
    /// the latest history tokens that fit; the history is cut from the front so the newest turn is whole.
    public func source(history: [String], persona: [String]) -> [Int] {
        let personaTokens = format.includesPersona ? persona.flatMap { tokenizer.tokenize($0) } : []
        let keptPersona = Array(personaTokens.prefix(format.maxSourceTokens / 2))
        let historyTokens = history.suffix(format.maxHistoryTurns).flatMap { tokenizer.tokenize($0) }
        return vocabulary.encode(keptPersona + historyTokens.suffix(format.maxSourceTokens - keptPersona.count))
    }

    public func encode(_ example: PersonaExample) -> EncodedExample {
        EncodedExample(source: source(history: example.history, persona: example.persona),
                       response: Array(vocabulary.encode(tokenizer.tokenize(example.response))
                        .prefix(format.maxResponseTokens)))
    }

    /// Token counts of every persona sentence, history turn and response (vocabulary building).
    public static func tokenCounts(_ tasks: [PersonaTask]) -> [String: Int] {
        let tokenizer = Tokenizer()
        var counts: [String: Int] = [:]
        for task in tasks {
            for side in task.dialogues {
                for sentence in side.persona { for t in tokenizer.tokenize(sentence) { counts[t, default: 0] += 1 } }
                // Each turn appears as a response once; history repeats earlier turns, so count responses
                // and the first turn of the dialogue.
                for example in side.examples {
                    for t in tokenizer.tokenize(example.response) { counts[t, default: 0] += 1 }
                }
                if let first = side.examples.first?.history.first {
                    for t in tokenizer.tokenize(first) { counts[t, default: 0] += 1 }
                }
            }
        }
        return counts
    }
}

/// Groups examples into padded batches of similar source length (less padding), in a seeded order.
public func makeBatches(_ examples: [EncodedExample], batchSize: Int, shuffleSeed: UInt64?) -> [Seq2SeqBatch] {
    precondition(batchSize >= 1, "batch size must be positive")
    guard !examples.isEmpty else { return [] }
    var order = Array(examples.indices)
    if let seed = shuffleSeed {
        var rng = SeededGenerator(seed: seed)
        order.shuffle(using: &rng)
        // Sort within windows of 50 batches by length: batches of similar lengths, still random overall.
        let window = batchSize * 50
        order = stride(from: 0, to: order.count, by: window).flatMap { start in
            order[start..<min(start + window, order.count)].sorted { examples[$0].source.count < examples[$1].source.count }
        }
    }
    var batches = stride(from: 0, to: order.count, by: batchSize).map { start -> Seq2SeqBatch in
        let chunk = order[start..<min(start + batchSize, order.count)].map { examples[$0] }
        return Seq2SeqBatch(sources: chunk.map(\.source), responses: chunk.map(\.response))
    }
    if let seed = shuffleSeed {
        var rng = SeededGenerator(seed: seed &+ 1)
        batches.shuffle(using: &rng)
    }
    return batches
}
