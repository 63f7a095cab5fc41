import Recommender
import Autograd
import Dialogue
import Foundation
import MetaLearning
import NN
import Text

/// A sentence for one action, with how it was made.
public struct Realisation: Equatable, Sendable {
    /// The sentence with names filled in.
    public var text: String
    /// The decoded (delexicalised) tokens.
    public var decoded: [String]
    /// True when the model's sentence carried exactly the right placeholder (so the names are right).
    public var slotCorrect: Bool
    /// True when the model's sentence was unusable and a template was used instead.
    public var usedFallback: Bool
}

/// Renders CRS actions as sentences with the action-language Seq2Seq, then fills in the names.
///
/// The source is `actionSource(kind, context:)`; decoding is top-k sampling (k 3, temperature 0.5, seeded per call) so repeated
/// questions vary, or greedy/beam, constrained so the placeholder comes out exactly once (see `decode`). A sentence
/// that is still unusable (only possible without the placeholder in the vocabulary) is resampled up to `attempts`
/// times, then replaced by the kind's first template (counted in `Realisation.usedFallback`).
public struct ActionRealiser: Sendable {
    public let model: Seq2Seq
    public let parameters: Parameters
    public let encoder: ExampleEncoder
    public var strategy: DecodingStrategy
    /// Items named in a recommendation sentence.
    public var listed: Int
    /// Samples tried before the template stands in (top-k decoding).
    public var attempts = 5
    /// A speaker (the persona dialogue model, `SpeakerPrompt`) reads the conversation so far plus an action prompt;
    /// the action-only model reads "<answer context> <kind> <slot>".
    public var readsConversation: Bool

    public init(model: Seq2Seq, parameters: Parameters, vocabulary: Vocabulary, format: DialogueFormat = DialogueFormat(),
                strategy: DecodingStrategy = .topK(k: 3, temperature: 0.5), listed: Int = 3, readsConversation: Bool = false) {
        self.readsConversation = readsConversation
        self.model = model
        self.parameters = parameters
        self.encoder = ExampleEncoder(vocabulary: vocabulary, format: format)
        self.strategy = strategy
        self.listed = listed
    }

    /// The encoded source of an action kind: the conversation so far (`history`, oldest first) and the action
    /// prompt for a speaker, the answer context and the kind for the action-only model.
    public func source(_ kind: ActionKind, context: AnswerContext, history: [String] = []) -> [Int] {
        readsConversation ? encoder.source(history: history + [SpeakerPrompt.turn(kind, context: context)], persona: [])
            : encoder.source(history: [actionSource(kind, context: context)], persona: [])
    }

    /// Decoded delexicalised tokens for a kind and context. Slot-exact decoding: the kind's placeholder comes out
    /// exactly once, no other placeholder and no UNK at all, and no word twice in a row, so every sentence is usable
    /// when the placeholder is in the vocabulary.
    public func decode(_ kind: ActionKind, context: AnswerContext, history: [String] = [], seed: UInt64) -> [String] {
        let vocabulary = encoder.vocabulary
        let others = ActionSlot.all.filter { $0 != kind.slot && vocabulary.contains($0) }.map(vocabulary.id)
        let required = vocabulary.contains(kind.slot) ? Set([vocabulary.id(kind.slot)]) : []
        let options = DecodingOptions(maxLength: 24, minLength: 3, seed: seed, bannedTokens: Set(others + [Vocabulary.unkID]),
                                      requiredOnce: required, banImmediateRepeats: true)
        let best = model.generate(parameters: parameters, source: source(kind, context: context, history: history), strategy: strategy, options: options)[0]
        return vocabulary.decode(best.tokens)
    }

    /// Is a decoded sentence usable: exactly the right placeholder, no UNK, no word said twice in a row
    /// ("music music", a stutter sampling and small-data adaptation sometimes produce)?
    public static func isUsable(_ tokens: [String], kind: ActionKind) -> Bool {
        SlotFiller.isWellFormed(tokens, kind: kind) && !tokens.contains(Vocabulary.unk)
            && !zip(tokens, tokens.dropFirst()).contains { $0 == $1 }
    }

    /// The sentence for `action` after an answer `context`: the first usable of up to `attempts` samples
    /// (seeds seed, seed + 1, ...; one attempt for deterministic decoding), else the kind's first template.
    public func realise(_ action: CRSAction, context: AnswerContext, history: [String] = [], dataset: CRSDataset, seed: UInt64) -> Realisation {
        let kind = ActionKind.of(action, in: dataset)
        let tries: Int
        if case .topK = strategy { tries = attempts } else { tries = 1 }
        var decoded: [String] = []
        var usable = false
        for attempt in 0..<tries {
            decoded = decode(kind, context: context, history: history, seed: seed &+ UInt64(attempt) &* 7_919)
            if Self.isUsable(decoded, kind: kind) {
                usable = true
                break
            }
        }
        let tokens = usable ? decoded : Tokenizer().tokenize(ActionPairMiner.templates.first { $0.0 == kind }!.1)
        let text = SlotFiller.fill(tokens, text: SlotFiller.slotText(action, dataset: dataset, listed: listed))
        let correct = usable && SlotFiller.carriesNames(text, SlotFiller.requiredNames(action, dataset: dataset, listed: listed))
        return Realisation(text: text, decoded: decoded, slotCorrect: correct, usedFallback: !usable)
    }
}

extension ActionPair {
    /// The pair as token ids the way `ActionRealiser` feeds the model (target cut to the format's limit).
    public func encoded(with encoder: ExampleEncoder) -> EncodedExample {
        EncodedExample(source: encoder.source(history: [source], persona: []),
                       response: Array(encoder.vocabulary.encode(target.split(separator: " ").map(String.init))
                        .prefix(encoder.format.maxResponseTokens)))
    }
}

extension ActionRealiser {
    /// The realiser of a trained checkpoint: a speaker (metadata `SpeakerPrompt.metadataKey`) or an action-only model.
    /// With `voice` (a persona file of dialogues in which the system speaks, names included) a speaker first adapts
    /// to the voice's dialogues, the PAML inner loop (`voiceProtocol`: SGD passes over them); with `style`
    /// (`ask|recommend TAB name TAB sentence` lines) an action-only model adapts to the delexicalised examples in
    /// every answer context.
    public init(checkpoint: DialogueCheckpoint, strategy: DecodingStrategy, style: URL?, styleSteps: Int, styleLearningRate: Float,
                voice: URL? = nil, voiceProtocol: KShotProtocol = KShotProtocol(steps: 10, learningRate: 0.01, batchSize: 16),
                dataset: CRSDataset? = nil, log: (String) -> Void) throws {
        var parameters = checkpoint.parameters
        let readsConversation = checkpoint.metadata[SpeakerPrompt.metadataKey] == SpeakerPrompt.metadataValue
        let encoder = ExampleEncoder(vocabulary: checkpoint.vocabulary, format: checkpoint.config.format)
        if let style {
            guard !readsConversation else {
                throw TextError(file: style.path, "a style file adapts the action-only model; a speaker adapts to a --voice persona file")
            }
            let pairs = try ActionPairMiner.styleExamples(style)
            guard !pairs.isEmpty else { throw TextError(file: style.path, "no style examples") }
            let start = Date()
            parameters = try KShotProtocol(steps: styleSteps, learningRate: styleLearningRate)
                .adapt(model: checkpoint.model, parameters: parameters, support: pairs.map { $0.encoded(with: encoder) })
            log("adapted to \(pairs.count / AnswerContext.allCases.count) style examples of \(style.path) in "
                + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
        if let voice {
            guard readsConversation, let dataset else {
                throw TextError(file: voice.path, "a voice adapts a speaker (paml recommend train-speaker), not the action-only model")
            }
            let file = try PersonaDialogueFile(url: voice)
            let examples = SpeakerExamples(encoder: encoder, reader: ActionLineReader(dataset: dataset, commonWords: Self.commonWords(checkpoint.vocabulary)))
            let support = examples.dialogues(file).flatMap { $0 }
            let start = Date()
            parameters = try voiceProtocol.adapt(model: checkpoint.model, parameters: parameters, support: support)
            log("adapted to the voice of \(voice.path) (\(file.dialogues) dialogues, \(support.count) answers) in "
                + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
        self.init(model: checkpoint.model, parameters: parameters, vocabulary: checkpoint.vocabulary,
                  format: checkpoint.config.format, strategy: strategy, readsConversation: readsConversation)
    }

    /// The 3,000 most frequent words of a dialogue vocabulary (ordered by count): one-word artist names among
    /// them are not read as artists.
    public static func commonWords(_ vocabulary: Vocabulary) -> Set<String> {
        Set(vocabulary.tokens.prefix(3_000 + Vocabulary.specials.count))
    }
}
