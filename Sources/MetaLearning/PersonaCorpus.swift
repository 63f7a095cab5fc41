import Autograd
import Dialogue
import Foundation
import Metrics
import NN
import Tensor
import Text

/// A persona's dialogues as encoded examples (one array per dialogue side).
public struct EncodedPersona: Sendable {
    public var id: String
    public var dialogues: [[EncodedExample]]
    public init(id: String, dialogues: [[EncodedExample]]) {
        self.id = id
        self.dialogues = dialogues
    }
}

/// The meta-dataset encoded with one vocabulary and format.
public struct PersonaCorpus: Sendable {
    public let encoder: ExampleEncoder
    public private(set) var personas: [MetaSplit: [EncodedPersona]] = [:]

    public init(encoder: ExampleEncoder, personas: [MetaSplit: [EncodedPersona]]) {
        self.encoder = encoder
        self.personas = personas
    }

    public init(dataset: PersonaMetaDataset, encoder: ExampleEncoder) {
        self.encoder = encoder
        for split in MetaSplit.allCases {
            personas[split] = dataset.tasks(in: split).map { task in
                EncodedPersona(id: task.id, dialogues: task.dialogues.map { $0.examples.map(encoder.encode) })
            }
        }
    }

    public func examples(in split: MetaSplit) -> [EncodedExample] {
        (personas[split] ?? []).flatMap { $0.dialogues.joined() }
    }
}

/// Builds the vocabulary from meta-train token counts (words seen at least `minCount` times).
public func buildVocabulary(_ dataset: PersonaMetaDataset, minCount: Int = 2) -> Vocabulary {
    Vocabulary(counts: ExampleEncoder.tokenCounts(dataset.tasks(in: .train)), minCount: minCount)
}

/// Perplexity of a model over batches: exp(sum NLL / sum tokens) (`PerplexityAccumulator`).
public func perplexity(_ model: Seq2Seq, _ parameters: Parameters, batches: [Seq2SeqBatch]) -> (ppl: Double, nll: Double, tokens: Int) {
    var accumulator = PerplexityAccumulator()
    for batch in batches {
        let (nll, tokens) = model.negativeLogLikelihood(parameters: parameters, batch: batch)
        accumulator.accumulate(nll: nll, tokens: tokens)
    }
    return (accumulator.measure() ?? .nan, accumulator.totalNLL, accumulator.tokenCount)
}

