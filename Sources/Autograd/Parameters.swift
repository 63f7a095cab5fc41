import Tensor

/// Named tensors in a fixed order: the weights of a model, and also their gradients, Adam moments and
/// MAML's adapted weights. One structure for all of them, so an update is a per-name loop and an
/// adapted copy is a new value (the meta-model is never edited in place).
///
/// Names are dotted paths (`encoder.layers.0.attention.query.weight`) and are the tensor names in
/// checkpoints.
public struct Parameters: Sequence, Equatable, Sendable {
    public private(set) var names: [String] = []
    private var tensors: [String: Tensor] = [:]

    public init() {}

    public init(_ pairs: [(String, Tensor)]) {
        for (name, tensor) in pairs { self[name] = tensor }
    }

    public var count: Int { names.count }
    public var isEmpty: Bool { names.isEmpty }

    /// Total number of scalars.
    public var scalarCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// Whether every scalar of every tensor is finite (no NaN, no Inf).
    public var allFinite: Bool {
        tensors.values.allSatisfy { tensor in tensor.scalars.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) } }
    }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    /// The tensor named `name`; setting a new name appends it, setting nil removes it.
    public subscript(name: String) -> Tensor? {
        get { tensors[name] }
        set {
            if let newValue {
                if tensors.updateValue(newValue, forKey: name) == nil { names.append(name) }
            } else if tensors.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    /// The tensor named `name`; traps with the name if missing (a model asked for a weight it never made).
    public func require(_ name: String) -> Tensor {
        guard let tensor = tensors[name] else {
            preconditionFailure("no parameter named '\(name)' (have \(names.prefix(8).joined(separator: ", "))...)")
        }
        return tensor
    }

    public func makeIterator() -> AnyIterator<(name: String, tensor: Tensor)> {
        var index = 0
        return AnyIterator {
            guard index < names.count else { return nil }
            defer { index += 1 }
            return (names[index], tensors[names[index]]!)
        }
    }

    /// Same names, each tensor transformed.
    public func mapTensors(_ transform: (String, Tensor) -> Tensor) -> Parameters {
        var out = Parameters()
        for name in names { out[name] = transform(name, tensors[name]!) }
        return out
    }

    /// Zeros with the same names and shapes.
    public func zerosLike() -> Parameters { mapTensors { Tensor(zeros: $1.shape) } }

    /// `self + scale * other`, name by name (names of `other` must be a subset of `self`'s).
    public func adding(_ other: Parameters, scale: Float = 1) -> Parameters {
        var out = self
        out.addScaled(other, scale: scale)
        return out
    }

    /// In-place `self += scale * other` for every tensor of `other`.
    public mutating func addScaled(_ other: Parameters, scale: Float = 1) {
        for (name, tensor) in other {
            guard tensors[name] != nil else { preconditionFailure("addScaled: no parameter '\(name)'") }
            tensors[name]!.addScaled(tensor, scale: scale)
        }
    }

    /// In-place multiplication of every tensor by `s`.
    public mutating func scale(by s: Float) {
        for name in names { tensors[name]!.scale(by: s) }
    }

    /// Euclidean norm over all tensors together.
    public func globalNorm() -> Float {
        Float(tensors.values.reduce(0.0) { $0 + $1.squaredNorm() }.squareRoot())
    }

    /// Scales all tensors so their global norm is at most `maxNorm`; returns the norm before clipping.
    @discardableResult
    public mutating func clipGlobalNorm(_ maxNorm: Float) -> Float {
        let norm = globalNorm()
        if norm > maxNorm && norm > 0 { scale(by: maxNorm / norm) }
        return norm
    }

    /// Dot product over all tensors (names of `other` must match).
    public func dot(_ other: Parameters) -> Double {
        var total = 0.0
        for (name, tensor) in self {
            guard let b = other[name] else { continue }
            for i in 0..<tensor.count { total += Double(tensor.scalars[i]) * Double(b.scalars[i]) }
        }
        return total
    }
}

/// Binds a set of parameters to a tape as trainable leaves, lazily, so a forward pass reads weights
/// by name and `gradients()` returns the gradients under the same names.
///
/// The functional form MAML needs: parameters in, loss out.
/// ```
/// let graph = Graph(parameters: adapted)
/// let loss = model.loss(graph, batch)
/// graph.tape.backward(loss)
/// let grads = graph.gradients()
/// ```
public final class Graph {
    public let tape: Tape
    public let parameters: Parameters
    /// When false, parameters enter as constants: no gradients, no backward records (inference).
    public let trainable: Bool
    /// Whether layers should apply dropout (training) or not (evaluation, generation).
    public var training: Bool
    /// Random stream for dropout masks.
    public var rng: SeededGenerator
    private var bound: [String: Var] = [:]

    public init(parameters: Parameters, trainable: Bool = true, training: Bool = false,
                seed: UInt64 = 0, tape: Tape = Tape()) {
        self.tape = tape
        self.parameters = parameters
        self.trainable = trainable
        self.training = training
        self.rng = SeededGenerator(seed: seed)
    }

    /// The parameter named `name` as a value on the tape.
    public func param(_ name: String) -> Var {
        if let v = bound[name] { return v }
        let v = tape.leaf(parameters.require(name), requiresGrad: trainable)
        bound[name] = v
        return v
    }

    /// A constant input.
    public func constant(_ value: Tensor) -> Var { tape.constant(value) }

    /// Gradients of the parameters used so far (unused parameters get zeros, so the result has
    /// every name of `parameters`, in order).
    public func gradients() -> Parameters {
        parameters.mapTensors { name, tensor in
            if let v = bound[name], let g = tape.gradient(of: v) { return g }
            return Tensor(zeros: tensor.shape)
        }
    }
}

/// Runs `loss` on a fresh tape with `parameters` trainable; returns the loss value and gradients.
public func valueAndGradient(
    at parameters: Parameters, training: Bool = true, seed: UInt64 = 0, _ loss: (Graph) -> Var
) -> (value: Float, gradients: Parameters) {
    let graph = Graph(parameters: parameters, trainable: true, training: training, seed: seed)
    let output = loss(graph)
    precondition(output.value.count == 1, "valueAndGradient: loss must be a scalar, got \(output.shape)")
    graph.tape.backward(output)
    return (output.value.scalars[0], graph.gradients())
}

/// The loss and gradients of a weighted mean of losses over `parts` (a batch cut into sub-batches,
/// weights = each part's share of the tokens): sum_i weights[i] * loss(part i) / sum(weights). The parts
/// run at once, one per BLAS thread, each with single-threaded BLAS. PAML's products are narrow
/// (widths 40 and 50), where splitting each GEMM over the cores costs more than it gains; whole
/// forward/backward passes side by side keep every core busy without a synchronisation per product.
/// Part i uses dropout seed `seed + i`. With one BLAS thread (or one part) the parts run in turn.
public func valueAndGradient<Part>(
    at parameters: Parameters, parts: [Part], weights: [Float], training: Bool = true, seed: UInt64 = 0,
    _ loss: (Graph, Part) -> Var
) -> (value: Float, gradients: Parameters) {
    precondition(!parts.isEmpty && parts.count == weights.count, "valueAndGradient: \(parts.count) parts, \(weights.count) weights")
    let total = weights.reduce(0, +)
    precondition(total > 0, "valueAndGradient: the weights sum to \(total)")
    let results = mapOverBLASThreads(parts.count) { i in
        valueAndGradient(at: parameters, training: training, seed: seed &+ UInt64(i)) { loss($0, parts[i]) }
    }
    var value: Float = 0
    var gradients = parameters.zerosLike()
    for (result, weight) in zip(results, weights) {
        value += result.value * weight / total
        gradients.addScaled(result.gradients, scale: weight / total)
    }
    return (value, gradients)
}
