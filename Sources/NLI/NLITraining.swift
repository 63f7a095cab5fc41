import Foundation
import Tensor
import Autograd
import NN
import Text

// Fine-tuning of the NLI classifier: Adam on the top blocks (small rate) and the head (larger rate),
// linear warm-up then linear decay (BERT's schedule), length-bucketed batches, progress lines and a
// resumable checkpoint (trained tensors + both Adams' moments + step).

/// BERT's schedule: lr rises linearly over `warmup` steps to `peak`, then falls linearly to 0 at `total`.
public struct LinearWarmupDecay: LearningRateSchedule, Codable, Equatable, Sendable {
    public var peak: Float
    public var warmup: Int
    public var total: Int

    public init(peak: Float, warmup: Int, total: Int) {
        precondition(peak >= 0 && warmup >= 0 && total > 0, "LinearWarmupDecay: bad settings")
        self.peak = peak
        self.warmup = warmup
        self.total = total
    }

    public func learningRate(at step: Int) -> Float {
        if step <= warmup { return warmup == 0 ? peak : peak * Float(step) / Float(warmup) }
        return peak * Float(max(0, total - step)) / Float(max(1, total - warmup))
    }
}

public struct NLITrainingOptions: Codable, Equatable, Sendable {
    public var epochs = 3
    public var batchSize = 32
    /// Peak rate of the fine-tuned blocks.
    public var encoderLearningRate: Float = 1e-4
    /// Peak rate of the new head.
    public var headLearningRate: Float = 1e-3
    /// Share of the steps spent warming up.
    public var warmupFraction = 0.1
    public var seed: UInt64 = 1
    /// Save a resumable checkpoint every this many steps (and at the end of each epoch).
    public var saveEvery = 200

    public init() {}
}

/// The straight-line training loop over cached frozen states.
public struct NLITrainer {
    public let classifier: NLIClassifier
    public let options: NLITrainingOptions
    /// Full parameter set (pretrained + trained tensors).
    public private(set) var parameters: Parameters
    private var encoderAdam: Adam
    private var headAdam: Adam
    public private(set) var step = 0
    public let stepsPerEpoch: Int
    public var totalSteps: Int { stepsPerEpoch * options.epochs }

    private let states: [[Float]]
    private let encodings: [BertEncoding]
    private let labels: [NLILabel]

    /// - Parameters: `states` are `classifier.frozenStates(encodings)`, labels the gold labels.
    public init(classifier: NLIClassifier, parameters: Parameters, encodings: [BertEncoding], states: [[Float]],
                labels: [NLILabel], options: NLITrainingOptions) {
        precondition(encodings.count == states.count && states.count == labels.count && !labels.isEmpty, "training data sizes differ or are empty")
        self.classifier = classifier
        self.options = options
        self.parameters = parameters
        self.encodings = encodings
        self.states = states
        self.labels = labels
        stepsPerEpoch = (labels.count + options.batchSize - 1) / options.batchSize
        let total = stepsPerEpoch * options.epochs
        let warmup = Int(Double(total) * options.warmupFraction)
        encoderAdam = Adam(learningRate: options.encoderLearningRate, weightDecay: 0,
                           schedule: LinearWarmupDecay(peak: options.encoderLearningRate, warmup: warmup, total: total))
        headAdam = Adam(learningRate: options.headLearningRate,
                        schedule: LinearWarmupDecay(peak: options.headLearningRate, warmup: warmup, total: total))
    }

    /// The batches of epoch `epoch` (0-based): a seeded shuffle, then chunks of 50 batches sorted by
    /// length (little padding), cut into batches, batch order shuffled. Deterministic, so a resumed run
    /// replays the same order.
    public func batches(epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: options.seed &* 1_000_003 &+ UInt64(epoch))
        var order = Array(labels.indices)
        order.shuffle(using: &rng)
        let chunk = options.batchSize * 50
        var out: [[Int]] = []
        for start in stride(from: 0, to: order.count, by: chunk) {
            let part = order[start..<min(start + chunk, order.count)].sorted { encodings[$0].count < encodings[$1].count }
            for s in stride(from: 0, to: part.count, by: options.batchSize) {
                out.append(Array(part[(part.startIndex + s)..<min(part.startIndex + s + options.batchSize, part.endIndex)]))
            }
        }
        out.shuffle(using: &rng)
        return out
    }

    /// One update on the pairs `indices`; returns the mean cross-entropy.
    public mutating func trainStep(_ indices: [Int]) -> Float {
        let c = classifier.config.bert.hiddenSize
        let batch = BertBatch(indices.map { encodings[$0] })
        let t = batch.length
        var input = [Float](repeating: 0, count: indices.count * t * c)                     // [B, T, C], padding rows 0
        for (row, index) in indices.enumerated() {
            let s = states[index]
            input.replaceSubrange((row * t * c)..<(row * t * c + s.count), with: s)
        }
        let trained = classifier.trainedSubset(parameters)
        let g = Graph(parameters: trained, trainable: true, training: true, seed: options.seed &+ UInt64(step) &* 7919)
        let x = g.constant(Tensor(shape: [indices.count, t, c], scalars: input))            // [B, T, C]
        let logits = classifier.logits(g, frozenOutput: x, batch: batch)                     // [B, K]
        let loss = crossEntropy(logits: logits, targets: indices.map { labels[$0].rawValue })
        g.tape.backward(loss)
        let gradients = g.gradients()
        var headGrads = Parameters(), encoderGrads = Parameters()
        for (name, grad) in gradients {
            if name.hasPrefix(classifier.head.name + ".") { headGrads[name] = grad } else { encoderGrads[name] = grad }
        }
        headAdam.update(&parameters, gradients: headGrads)
        encoderAdam.update(&parameters, gradients: encoderGrads)
        step += 1
        return loss.value.scalars[0]
    }

    /// Both Adams' moments in one state (names do not overlap) and the step.
    public var optimizerState: OptimizerState {
        let e = encoderAdam.state, h = headAdam.state
        var slots = e.slots
        for (name, tensor) in h.slots { slots[name] = tensor }
        return OptimizerState(kind: "adam", step: step, slots: slots)
    }

    /// Resumes from a saved checkpoint's trained tensors and optimizer state.
    public mutating func restore(trained: Parameters, optimizer: OptimizerState) throws {
        for (name, tensor) in trained { parameters[name] = tensor }
        var e = Parameters(), h = Parameters()
        for (name, tensor) in optimizer.slots {
            let bare = name.split(separator: ".", maxSplits: 1).last.map(String.init) ?? name
            if bare.hasPrefix(classifier.head.name + ".") { h[name] = tensor } else { e[name] = tensor }
        }
        try encoderAdam.restore(OptimizerState(kind: optimizer.kind, step: optimizer.step, slots: e))
        try headAdam.restore(OptimizerState(kind: optimizer.kind, step: optimizer.step, slots: h))
        step = optimizer.step
    }
}

extension NLIClassifier {
    /// Predicted labels from cached frozen states (as `frozenStates`), in input order: only the trained
    /// blocks and the head run (forward-only path). Equal to `predict` on the same encodings.
    public func predict(states: [[Float]], encodings: [BertEncoding], parameters: Parameters, batchSize: Int = 512) -> [NLILabel] {
        precondition(states.count == encodings.count, "\(states.count) states for \(encodings.count) encodings")
        let inference = inference(parameters)
        var out: [NLILabel] = []
        out.reserveCapacity(encodings.count)
        for start in stride(from: 0, to: encodings.count, by: batchSize) {
            let range = start..<min(start + batchSize, encodings.count)
            let packed = PackedSequences(Array(encodings[range]))
            var x = Array(states[range].joined())                                            // [N, C]
            inference.encode(&x, packed, layers: trainedLayers)
            let logits = headLogits(pooled: inference.meanPool(x, packed), count: packed.sequenceCount, parameters: parameters)
            let k = head.outputSize
            for s in 0..<packed.sequenceCount {
                let row = logits[(s * k)..<((s + 1) * k)]
                out.append(NLILabel(rawValue: row.firstIndex(of: row.max()!)! - s * k)!)
            }
        }
        return out
    }
}
