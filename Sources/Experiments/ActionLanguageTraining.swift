import Dialogue
import Foundation
import MetaLearning
import Metrics
import NN
import Recommender
import SpokenRecommender
import Tensor
import Text

/// Settings of the action-language training job (`paml recommend train-language`); saved with its output.
public struct ActionLanguageTrainingConfig: Codable, Sendable {
    public var data: String
    /// Folder of the finished model and of the resumable run.
    public var out: String
    public var work: String
    public var dataSeed: UInt64 = 1
    public var steps = 800
    public var batchSize = 32
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 1
    public var layers = 2
    public var width = 128
    public var minCount = 5
    public var slotItems = 200

    public init(data: String, out: String, work: String) {
        self.data = data
        self.out = out
        self.work = work
    }
}

/// Mines action -> sentence pairs from the persona corpora, trains the action-language Seq2Seq on them (best model
/// on held-out perplexity) and measures it (`LanguageMetrics`).
public struct ActionLanguageTraining {
    public var config: ActionLanguageTrainingConfig
    public init(config: ActionLanguageTrainingConfig) { self.config = config }

    public struct Pairs {
        public var utterances: [String]
        public var train: [ActionPair]
        public var heldOut: [ActionPair]
        public var statistics: String
    }

    /// The mined pairs; logs their statistics and the first frames (every frame with `allFrames`).
    public func minePairs(log: (String) -> Void, allFrames: Bool = false) throws -> Pairs {
        let utterances = try ActionPairMiner.utterances(root: CorpusRoot(explicit: config.data))
        let miner = ActionPairMiner(seed: config.dataSeed)
        let (train, heldOut, stats) = miner.pairs(utterances: utterances)
        log("pairs: \(stats)")
        let frames = Dictionary(grouping: train + heldOut, by: \.frame)
        for frame in frames.keys.sorted().prefix(allFrames ? frames.count : 6) {
            log("  \(frames[frame]![0].origin) frame: \(frame)  (\(frames[frame]!.count) pairs)")
        }
        return Pairs(utterances: utterances, train: train, heldOut: heldOut, statistics: stats.description)
    }

    /// Trains (resuming the run in `work`), saves the best model to `out` and measures it.
    public func train(_ pairs: Pairs, log: (String) -> Void) throws -> LanguageMetrics {
        let (utterances, train, heldOut) = (pairs.utterances, pairs.train, pairs.heldOut)
        let (minCount, layers, width, seed) = (config.minCount, config.layers, config.width, config.seed)
        let tokenizer = Tokenizer()
        var counts: [String: Int] = [:]
        for utterance in utterances { for t in tokenizer.tokenize(utterance) { counts[t, default: 0] += 1 } }
        counts = counts.filter { $0.value >= minCount }
        for pair in train + heldOut {
            for t in (pair.source + " " + pair.target).split(separator: " ") { counts[String(t), default: 0] += minCount }
        }
        let vocabulary = Vocabulary(counts: counts, minCount: minCount)
        let format = DialogueFormat(includesPersona: false, maxHistoryTurns: 1, maxSourceTokens: 16, maxResponseTokens: 30)
        let model = Seq2SeqConfig(
            vocabularySize: vocabulary.count, embeddingWidth: 50,
            transformer: TransformerConfig(layers: layers, width: width, heads: 4, keyDepth: width, valueDepth: width,
                                           filterSize: 2 * width, inputDropout: 0.1, layerDropout: 0.1,
                                           attentionDropout: 0, reluDropout: 0.1),
            labelSmoothing: 0.1)
        let modelConfig = DialogueModelConfig(system: .dialogue, model: model, format: format, dataSeed: config.dataSeed)
        let encoder = ExampleEncoder(vocabulary: vocabulary, format: format)
        let trainExamples = train.map { $0.encoded(with: encoder) }
        let heldOutExamples = heldOut.map { $0.encoded(with: encoder) }
        let corpus = PersonaCorpus(encoder: encoder, personas: [
            .train: [EncodedPersona(id: "action-pairs-train", dialogues: [trainExamples])],
            .valid: [EncodedPersona(id: "action-pairs-held-out", dialogues: [heldOutExamples])],
        ])
        let trainer = DialogueTrainer(config: modelConfig, corpus: corpus)
        let glove = try GloVe.load(directory: CorpusRoot(explicit: config.data).file("glove"))
        let (matrix, coverage) = glove.embeddingMatrix(for: vocabulary, seed: seed)
        log(String(format: "vocabulary %d words, GloVe covers %.1f%% of types", vocabulary.count, coverage.typeFraction * 100))
        let options = TrainingOptions(steps: config.steps, batchSize: config.batchSize, learningRate: config.learningRate, seed: seed,
                                      validateEvery: 100, checkpointEvery: 250, checkpointFolder: URL(fileURLWithPath: config.work),
                                      validationExamples: heldOutExamples.count)
        _ = try trainer.trainSupervised(initial: trainer.model.initialParameters(seed: seed, pretrained: matrix), options: options)

        let best = try DialogueCheckpoint(folder: URL(fileURLWithPath: config.work).appendingPathComponent("best"))
        try trainer.save(best.parameters, to: URL(fileURLWithPath: config.out), metadata: ["pairs": pairs.statistics])
        return try measure(best, heldOut: heldOut)
    }

    /// Held-out perplexity, BLEU and slot accuracy (lastfm names) of a trained model.
    public func measure(_ model: DialogueCheckpoint, heldOut: [ActionPair]) throws -> LanguageMetrics {
        let d = try CRSDataset.load(directory: CorpusRoot(explicit: config.data).file("crs/lastfm"))
        return LanguageMetrics.measure(model, heldOut: heldOut, dataset: d, slotItems: config.slotItems, seed: config.seed)
    }
}


/// Held-out perplexity, BLEU and slot accuracy of an action-language model.
public struct LanguageMetrics: Codable, Sendable {
    public var heldOutPerplexity: Double
    public var heldOutPairs: Int
    /// Corpus BLEU (sacreBLEU 13a) of one sampled (top-k) / greedy sentence per held-out pair against every
    /// held-out target of the same source (multi-reference).
    public var bleuSampled: Double
    public var bleuGreedy: Double
    /// Fraction of single sentences (one top-k sample / greedy, no resampling) that carry the right names.
    public var slotAccuracySampled: Double
    public var slotAccuracyGreedy: Double
    /// Fraction of single top-k samples that are usable (right slot, no UNK, no stutter).
    public var usableSampled: Double
    /// Fraction of realisations (up to 5 samples) that fell back to a template.
    public var fallbackRate: Double
    public var slotSentences: Int
    public var examples: [String]

    public var summary: String {
        String(format: "held-out PPL %.2f (%d pairs); BLEU sampled %.2f, greedy %.2f; slot accuracy sampled %.4f, greedy %.4f; "
               + "usable samples %.4f; template fallback %.4f (%d sentences each)",
               heldOutPerplexity, heldOutPairs, bleuSampled, bleuGreedy, slotAccuracySampled, slotAccuracyGreedy,
               usableSampled, fallbackRate, slotSentences)
    }

    public static func measure(_ loaded: DialogueCheckpoint, heldOut: [ActionPair], dataset: CRSDataset, slotItems: Int,
                        seed: UInt64) -> LanguageMetrics {
        let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
        let batches = makeBatches(heldOut.map { $0.encoded(with: encoder) }, batchSize: 64, shuffleSeed: nil)
        let ppl = perplexity(loaded.model, loaded.parameters, batches: batches).ppl
        let sampler = ActionRealiser(model: loaded.model, parameters: loaded.parameters, vocabulary: loaded.vocabulary,
                                     format: loaded.config.format)
        var greedy = sampler
        greedy.strategy = .greedy
        // BLEU: references = all held-out targets with the pair's source.
        let bySource = Dictionary(grouping: heldOut, by: \.source)
        let streams = bySource.values.map(\.count).max() ?? 0
        var sampled: [String] = [], greedyOut: [String] = []
        var references = [[String?]](repeating: [], count: streams)
        for (i, pair) in heldOut.enumerated() {
            sampled.append(sampler.decode(pair.kind, context: pair.context, seed: UInt64(i)).joined(separator: " "))
            greedyOut.append(greedy.decode(pair.kind, context: pair.context, seed: 0).joined(separator: " "))
            let refs = bySource[pair.source]!.map(\.target)
            for s in 0..<streams { references[s].append(s < refs.count ? refs[s] : nil) }
        }
        let bleu = BLEU()
        // Slot accuracy: every attribute and `slotItems` artist lists (3 named items) in every context.
        var rng = SeededGenerator(seed: seed)
        let named = (0..<dataset.itemCount).filter { dataset.itemNames?[$0] != nil }
        var actions = (0..<dataset.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<slotItems {
            actions.append(.recommend(items: (0..<3).map { _ in named[Int(rng.next() % UInt64(named.count))] }))
        }
        var single = sampler
        single.attempts = 1
        var correctSampled = 0, correctGreedy = 0, usable = 0, fallbacks = 0, total = 0
        var examples: [String] = []
        for (i, action) in actions.enumerated() {
            for context in AnswerContext.allCases {
                let one = single.realise(action, context: context, dataset: dataset, seed: UInt64(i))
                let s = sampler.realise(action, context: context, dataset: dataset, seed: UInt64(i))
                let g = greedy.realise(action, context: context, dataset: dataset, seed: 0)
                let slotOK = SlotFiller.isWellFormed(one.decoded, kind: ActionKind.of(action, in: dataset))
                    && SlotFiller.carriesNames(SlotFiller.fill(one.decoded, text: SlotFiller.slotText(action, dataset: dataset)),
                                               SlotFiller.requiredNames(action, dataset: dataset))
                correctSampled += slotOK ? 1 : 0
                usable += one.usedFallback ? 0 : 1
                fallbacks += s.usedFallback ? 1 : 0
                correctGreedy += g.slotCorrect ? 1 : 0
                total += 1
                if i % 11 == 0 && examples.count < 24 { examples.append("\(context.rawValue): \(s.text)") }
            }
        }
        return LanguageMetrics(
            heldOutPerplexity: ppl, heldOutPairs: heldOut.count,
            bleuSampled: bleu.corpusScore(hypotheses: sampled, references: references).score,
            bleuGreedy: bleu.corpusScore(hypotheses: greedyOut, references: references).score,
            slotAccuracySampled: Double(correctSampled) / Double(max(total, 1)),
            slotAccuracyGreedy: Double(correctGreedy) / Double(max(total, 1)),
            usableSampled: Double(usable) / Double(max(total, 1)), fallbackRate: Double(fallbacks) / Double(max(total, 1)),
            slotSentences: total, examples: examples)
    }
}

