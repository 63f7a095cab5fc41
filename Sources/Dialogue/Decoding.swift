import Foundation
import Autograd
import NN
import Tensor
import Text

/// How to pick response tokens.
public enum DecodingStrategy: Equatable, Sendable {
    /// The most likely token at each step.
    case greedy
    /// Beam search (PAML uses size 5) with length normalisation.
    case beam(size: Int)
    /// Sampling from the k most likely tokens, softened by `temperature`.
    case topK(k: Int, temperature: Float)
}

/// Limits shared by every strategy (PAML: at most 20 decoder steps, at least 5 tokens).
public struct DecodingOptions: Sendable {
    public var maxLength: Int
    /// EOS is forbidden before this many tokens.
    public var minLength: Int
    /// Beam scores are sum(log p) / length^lengthPenalty (0: raw sum, 1: mean log-probability).
    public var lengthPenalty: Float
    /// Seed for top-k sampling.
    public var seed: UInt64
    /// Tokens never produced (e.g. the "[" of corpus placeholders such as "[user 2's name]").
    public var bannedTokens: Set<Int>
    /// No n-gram of this length appears twice in a response (ParlAI's beam_block_ngram; 0: off).
    public var blockRepeatedNGram: Int
    /// Tokens every response carries exactly once (slot placeholders): a used one is banned, EOS waits until all
    /// are used, and when the steps left are just enough, only the missing ones may come.
    public var requiredOnce: Set<Int>
    /// No token twice in a row (a stutter such as "music music").
    public var banImmediateRepeats: Bool

    public init(maxLength: Int = 20, minLength: Int = 5, lengthPenalty: Float = 1, seed: UInt64 = 0,
                bannedTokens: Set<Int> = [], blockRepeatedNGram: Int = 0, requiredOnce: Set<Int> = [],
                banImmediateRepeats: Bool = false) {
        self.maxLength = maxLength
        self.minLength = minLength
        self.lengthPenalty = lengthPenalty
        self.seed = seed
        self.bannedTokens = bannedTokens
        self.blockRepeatedNGram = blockRepeatedNGram
        self.requiredOnce = requiredOnce
        self.banImmediateRepeats = banImmediateRepeats
    }

    /// Applies the token constraints to one row's log-probabilities [V] after `history` at decoding step `step`.
    func constrain(_ row: inout ArraySlice<Float>, history: [Int], step: Int) {
        let base = row.startIndex
        var banned = bannedTokens.union(repeatingTokens(after: history))
        if banImmediateRepeats, let last = history.last { banned.insert(last) }
        let missing = requiredOnce.subtracting(history)
        banned.formUnion(requiredOnce.intersection(history))
        if !missing.isEmpty {
            banned.insert(Vocabulary.eosID)
            if maxLength - step <= missing.count {
                // Just enough steps left: only the missing required tokens.
                for token in 0..<row.count where !missing.contains(token) { row[base + token] = -.infinity }
            }
        }
        for token in banned where token < row.count { row[base + token] = -.infinity }
    }

    /// The tokens that would repeat an n-gram of `history` if they came next (n = `blockRepeatedNGram`).
    public func repeatingTokens(after history: [Int]) -> Set<Int> {
        let n = blockRepeatedNGram
        guard n > 0, history.count >= n else { return [] }
        if n == 1 { return Set(history) }
        let prefix = history.suffix(n - 1)
        var out: Set<Int> = []
        for start in 0...(history.count - n) where history[start..<(start + n - 1)].elementsEqual(prefix) {
            out.insert(history[start + n - 1])
        }
        return out
    }
}

/// A generated response: token ids (without SOS/EOS) and its score (summed log-probability,
/// length-normalised for beam search).
public struct Hypothesis: Equatable, Sendable {
    public var tokens: [Int]
    public var logProbability: Float
    public var score: Float
}

extension Seq2Seq {
    /// Generates responses for one source (history ids). Beam search returns all finished beams, best
    /// first; greedy and top-k return one hypothesis.
    public func generate(parameters: Parameters, source: [Int], strategy: DecodingStrategy,
                         options: DecodingOptions = DecodingOptions()) -> [Hypothesis] {
        let g = Graph(parameters: parameters, trainable: false)
        let batch = Seq2SeqBatch(sources: [source], responses: [[]])
        let memory = encode(g, batch)                                                   // [1, S, C]
        let ids = batch.sourceIDs
        switch strategy {
        case .greedy:
            return [sample(g, memory: memory, padding: batch.sourcePadding, sourceIDs: ids, options: options) { row, _ in
                argmax(row)
            }]
        case let .topK(k, temperature):
            precondition(k >= 1 && temperature > 0, "top-k needs k >= 1 and temperature > 0")
            var rng = SeededGenerator(seed: options.seed)
            return [sample(g, memory: memory, padding: batch.sourcePadding, sourceIDs: ids, options: options) { row, _ in
                sampleTopK(row, k: k, temperature: temperature, rng: &rng)
            }]
        case let .beam(size):
            precondition(size >= 1, "beam size must be at least 1")
            return beamSearch(g, memory: memory, padding: batch.sourcePadding, sourceIDs: ids, size: size, options: options)
        }
    }

    /// Log-probabilities of the next token for each row of the batch, with EOS masked before `minLength`.
    /// `sourceIDs`: the one source all rows decode from (copied by the pointer-generator).
    /// `histories`: each row's tokens so far (n-gram blocking).
    private func nextLogProbabilities(_ g: Graph, lastTokens: [Int], histories: [[Int]], memory: Var, padding: [Bool], sourceIDs: [Int],
                                      cache: inout KeyValueCache?, step: Int, options: DecodingOptions) -> Tensor {
        let h = decoded(g, targetIDs: lastTokens, batchSize: lastTokens.count, memory: memory,
                        sourcePadding: padding, cache: &cache)                              // [B, 1, C]
        let scores = vocabularyLogits(g, h).value.reshaped([lastTokens.count, config.vocabularySize])  // [B, V]
        var logProbabilities: Tensor
        if config.pointerGenerator {
            let copy = copyParts(g, h, memory: memory)
            let rows = lastTokens.count
            logProbabilities = pointerGeneratorLogProbabilities(
                vocabularyLogits: scores, copyScores: copy.scores.value, gate: copy.gate.value,
                source: CopySource(ids: Array([[Int]](repeating: sourceIDs, count: rows).joined()), padding: padding,
                                   length: sourceIDs.count, rowsPerItem: 1))
        } else {
            logProbabilities = logSoftmaxRows(scores)
        }
        let vocabulary = config.vocabularySize
        for b in 0..<lastTokens.count {
            // Never produce the structural tokens; EOS only once the response is long enough.
            logProbabilities.scalars[b * vocabulary + Vocabulary.padID] = -.infinity
            logProbabilities.scalars[b * vocabulary + Vocabulary.sosID] = -.infinity
            if step < options.minLength { logProbabilities.scalars[b * vocabulary + Vocabulary.eosID] = -.infinity }
            options.constrain(&logProbabilities.scalars[(b * vocabulary)..<((b + 1) * vocabulary)], history: histories[b], step: step)
        }
        return logProbabilities                                                              // [B, V]
    }

    /// Token-by-token decoding of one hypothesis, `choose` picking each token from the log-probabilities.
    private func sample(_ g: Graph, memory: Var, padding: [Bool], sourceIDs: [Int], options: DecodingOptions,
                        choose: (ArraySlice<Float>, Int) -> Int) -> Hypothesis {
        var cache: KeyValueCache? = KeyValueCache(layers: config.transformer.layers)
        var tokens: [Int] = []
        var total: Float = 0
        var last = Vocabulary.sosID
        for step in 0..<options.maxLength {
            let logProbabilities = nextLogProbabilities(g, lastTokens: [last], histories: [tokens], memory: memory, padding: padding,
                                                        sourceIDs: sourceIDs, cache: &cache, step: step, options: options)
            let token = choose(logProbabilities.scalars[...], step)
            total += logProbabilities.scalars[token]
            if token == Vocabulary.eosID { break }
            tokens.append(token)
            last = token
        }
        return Hypothesis(tokens: tokens, logProbability: total, score: total)
    }

    /// Beam search over `size` hypotheses kept as one batch; finished hypotheses leave the beam.
    /// Returns at most `size` finished hypotheses, best score first.
    private func beamSearch(_ g: Graph, memory: Var, padding: [Bool], sourceIDs: [Int], size: Int,
                            options: DecodingOptions) -> [Hypothesis] {
        let vocabulary = config.vocabularySize
        func normalised(_ logProbability: Float, _ length: Int) -> Float {
            logProbability / Float(max(length, 1)).power(options.lengthPenalty)
        }
        var cache: KeyValueCache? = KeyValueCache(layers: config.transformer.layers)
        var beams: [(tokens: [Int], logProbability: Float)] = [([], 0)]
        var beamMemory = memory                                                          // [beams, S, C]
        var beamPadding = padding
        var finished: [Hypothesis] = []
        for step in 0..<options.maxLength {
            let lastTokens = beams.map { $0.tokens.last ?? Vocabulary.sosID }
            let logProbabilities = nextLogProbabilities(g, lastTokens: lastTokens, histories: beams.map(\.tokens), memory: beamMemory,
                                                        padding: beamPadding, sourceIDs: sourceIDs, cache: &cache, step: step,
                                                        options: options)                // [beams, V]
            // Best `size` extensions over all beams: (beam, token, total log-probability).
            var candidates: [(beam: Int, token: Int, logProbability: Float)] = []
            candidates.reserveCapacity(beams.count * size)
            logProbabilities.scalars.withUnsafeBufferPointer { p in
                for b in beams.indices {
                    // Forbidden tokens (-inf) never extend a beam, even when fewer than `size` are allowed.
                    for token in topIndices(p[(b * vocabulary)..<((b + 1) * vocabulary)], count: size) where p[token] > -.infinity {
                        candidates.append((b, token - b * vocabulary, beams[b].logProbability + p[token]))
                    }
                }
            }
            candidates.sort { $0.logProbability > $1.logProbability }
            var survivors: [(tokens: [Int], logProbability: Float)] = []
            var parents: [Int] = []
            for candidate in candidates {
                if candidate.token == Vocabulary.eosID {
                    let tokens = beams[candidate.beam].tokens
                    finished.append(Hypothesis(tokens: tokens, logProbability: candidate.logProbability,
                                               score: normalised(candidate.logProbability, tokens.count + 1)))
                } else {
                    survivors.append((beams[candidate.beam].tokens + [candidate.token], candidate.logProbability))
                    parents.append(candidate.beam)
                }
                if survivors.count == size { break }
            }
            // Stop when no live beam can beat the best finished one (scores only fall as beams grow
            // when lengthPenalty is 0; with normalisation we keep going to the step limit or until
            // enough hypotheses have finished).
            if survivors.isEmpty || finished.count >= size { break }
            beams = survivors
            cache = cache!.selectingBatch(parents, in: g)
            beamMemory = g.constant(memory.value.gatheringRows([Int](repeating: 0, count: parents.count)))
            beamPadding = Array([[Bool]](repeating: padding, count: parents.count).joined())
        }
        if finished.isEmpty {
            finished = beams.map { Hypothesis(tokens: $0.tokens, logProbability: $0.logProbability,
                                              score: normalised($0.logProbability, $0.tokens.count)) }
        }
        return Array(finished.sorted { $0.score > $1.score }.prefix(size))
    }
}

/// Index of the largest element.
func argmax(_ row: ArraySlice<Float>) -> Int {
    var best = row.startIndex
    for i in row.indices where row[i] > row[best] { best = i }
    return best - row.startIndex
}

/// Indices (in the slice's own index space) of the `count` largest elements, largest first.
func topIndices(_ row: Slice<UnsafeBufferPointer<Float>>, count: Int) -> [Int] {
    var top: [(index: Int, value: Float)] = []
    for i in row.indices {
        let value = row[i]
        if top.count < count {
            top.append((i, value))
            top.sort { $0.value > $1.value }
        } else if value > top[count - 1].value {
            top[count - 1] = (i, value)
            top.sort { $0.value > $1.value }
        }
    }
    return top.map(\.index)
}

/// Samples from the k most likely tokens with softmax(logp / temperature).
func sampleTopK(_ row: ArraySlice<Float>, k: Int, temperature: Float, rng: inout SeededGenerator) -> Int {
    let ranked = row.indices.sorted { row[$0] > row[$1] }.prefix(k).filter { row[$0] > -.infinity }
    let scaled = ranked.map { row[$0] / temperature }
    let top = scaled.max() ?? 0
    let weights = scaled.map { exp($0 - top) }
    var u = rng.nextUniform() * weights.reduce(0, +)
    for (index, weight) in zip(ranked, weights) {
        u -= weight
        if u <= 0 { return index - row.startIndex }
    }
    return (ranked.last ?? row.startIndex) - row.startIndex
}

extension Float {
    fileprivate func power(_ exponent: Float) -> Float { exponent == 0 ? 1 : Float(pow(Double(self), Double(exponent))) }
}

