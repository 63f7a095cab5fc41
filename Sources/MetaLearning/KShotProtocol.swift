import Autograd
import Dialogue
import Foundation
import Metrics
import NN
import Tensor
import Text

/// The k-shot protocol of PAML's evaluation: for each persona and each of its dialogues, adapt on the
/// first k of its other dialogues (SGD, `learningRate`, `steps` passes over the support batches) and score
/// the held-out dialogue. Personas with fewer than k + 1 dialogues are skipped (and counted). The
/// support set is always taken from the dialogues after the held-out one in the persona's (seeded)
/// order, wrapping around, so the k-shot sets are nested: the 3-shot set contains the 1-shot set.
public struct KShotProtocol: Sendable, ValidatedConfig {
    public var shots: [Int]
    public var steps: Int
    public var learningRate: Float
    public var batchSize: Int
    /// Global-norm clip of each adaptation gradient (0: none); the same for every system evaluated.
    public var gradientClip: Float
    /// At most this many personas (nil: all), to bound the cost.
    public var maxPersonas: Int?
    /// At most this many held-out dialogues per persona, the first ones (nil: every dialogue, as the paper).
    public var heldOutPerPersona: Int?

    public init(shots: [Int] = [0, 1, 3, 5, 10], steps: Int = 5, learningRate: Float = 0.01, batchSize: Int = 32,
                gradientClip: Float = 0, maxPersonas: Int? = nil, heldOutPerPersona: Int? = nil) {
        self.shots = shots
        self.gradientClip = gradientClip
        self.steps = steps
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.maxPersonas = maxPersonas
        self.heldOutPerPersona = heldOutPerPersona
    }

    /// Checks the adaptation settings (k values are checked against the personas when evaluating).
    public func validate() throws {
        guard !shots.isEmpty, shots.allSatisfy({ (0...1000).contains($0) }) else {
            throw ConfigError(field: "shots", value: "\(shots)", allowed: "one or more k in 0...1000")
        }
        try Check.within(steps, 0...10_000, "adaptSteps")
        try Check.finite(learningRate, "adaptLearningRate", from: 0, to: 10)
        try Check.within(batchSize, 1...65_536, "adaptBatchSize")
        try Check.finite(gradientClip, "adaptGradientClip", from: 0)
        if let maxPersonas { try Check.atLeast(maxPersonas, 1, "maxPersonas") }
        if let heldOutPerPersona { try Check.atLeast(heldOutPerPersona, 1, "heldOutPerPersona") }
    }

    public struct Result: Codable, Sendable {
        public var k: Int
        public var perplexity: Double
        public var negativeLogLikelihood: Double
        public var tokens: Int
        public var personas: Int
        public var heldOutDialogues: Int
        public var skippedPersonas: Int
    }

    /// Adapted weights for one support set (unchanged when it is empty). Throws `TrainingError.nonFinite`
    /// when a step's loss or gradient is not finite (a learning rate far too large), instead of returning
    /// weights that answer with empty lines.
    public func adapt(model: Seq2Seq, parameters: Parameters, support: [EncodedExample]) throws -> Parameters {
        guard !support.isEmpty, steps > 0 else { return parameters }
        let batches = makeBatches(support, batchSize: batchSize, shuffleSeed: nil)
        // `steps` passes over the support batches, without dropout.
        let outcome = SGDAdaptation(steps: steps * batches.count, learningRate: learningRate, gradientClip: gradientClip)
            .run(parameters, batches: batches.count) { current, batch, step in
                model.lossAndGradient(at: current, batch: batches[batch], training: false, seed: UInt64(step / batches.count))
            }
        if let step = outcome.nonFiniteStep {
            throw TrainingError.nonFinite(what: "the adaptation loss", step: (step - 1) / batches.count + 1,
                                          hint: "the adaptation learning rate \(learningRate) is too large")
        }
        let adapted = outcome.adapted
        guard adapted.allFinite else {
            throw TrainingError.nonFinite(what: "the adapted weights", step: steps,
                                          hint: "the adaptation learning rate \(learningRate) is too large")
        }
        return adapted
    }

    /// Perplexity over all held-out dialogues of `personas` after k-shot adaptation. `inspect` sees each
    /// adapted model with its persona and the index of the held-out dialogue (for generation metrics such as
    /// BLEU and consistency C).
    public func evaluate(model: Seq2Seq, parameters: Parameters, personas: [EncodedPersona], k: Int,
                         inspect: ((Parameters, EncodedPersona, Int) throws -> Void)? = nil) throws -> Result {
        var accumulator = PerplexityAccumulator()
        var used = 0, heldOut = 0, skipped = 0
        for persona in personas.prefix(maxPersonas ?? personas.count) {
            guard persona.dialogues.count >= k + 1 else { skipped += 1; continue }
            used += 1
            for held in persona.dialogues.indices.prefix(heldOutPerPersona ?? persona.dialogues.count) {
                let n = persona.dialogues.count
                let others = (1..<n).map { persona.dialogues[(held + $0) % n] }
                let adapted = try adapt(model: model, parameters: parameters, support: Array(others.prefix(k).joined()))
                let batches = makeBatches(persona.dialogues[held], batchSize: 64, shuffleSeed: nil)
                let result = perplexity(model, adapted, batches: batches)
                try inspect?(adapted, persona, held)
                accumulator.accumulate(nll: result.nll, tokens: result.tokens)
                heldOut += 1
            }
        }
        return Result(k: k, perplexity: accumulator.measure() ?? .nan, negativeLogLikelihood: accumulator.totalNLL,
                      tokens: accumulator.tokenCount, personas: used, heldOutDialogues: heldOut, skippedPersonas: skipped)
    }
}
