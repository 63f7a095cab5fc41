import Tensor

// Reverse-mode automatic differentiation on a tape.
//
// Design notes
// - Every op appends one record to the tape: the ids of its inputs and a closure that maps the
//   gradient of its output to gradients of its inputs. Records are appended in execution order, which
//   is already a topological order, so backward is one loop from the loss down to the first record
//   (micrograd's engine without the sort).
// - A Var carries its value, so a forward pass never reads the tape. An op whose inputs need no
//   gradient records nothing: inference on a tape costs no memory beyond the values in flight.
// - Backward closures capture exactly the tensors they need (copy-on-write makes that free) and
//   write into a GradientSink, which accumulates, and can scatter rows for sparse gradients
//   (embedding lookups touch a few rows of a large table).

/// A value in a computation recorded on a tape.
public struct Var {
    public let tape: Tape
    /// Position on the tape; gradients are looked up by it.
    public let id: Int
    public let value: Tensor
    /// Whether gradients flow to this value (it is a trainable leaf or depends on one).
    public let requiresGrad: Bool

    public var shape: [Int] { value.shape }
    public var rank: Int { value.rank }
}

/// Receives the gradients an op's backward closure produces for its inputs (by input slot).
public struct GradientSink {
    fileprivate let tape: Tape
    fileprivate let inputs: [Int]

    /// Adds a dense gradient for input `slot`.
    public func add(_ slot: Int, _ gradient: Tensor) {
        tape.accumulate(inputs[slot], gradient)
    }

    /// Adds `values[i]` to row `rows[i]` of the gradient for input `slot`, whose value has shape
    /// `shape` ([R, C]): a sparse gradient, as an embedding lookup makes.
    public func addRows(_ slot: Int, rows: [Int], values: Tensor, shape: [Int]) {
        tape.accumulateRows(inputs[slot], rows: rows, values: values, shape: shape)
    }

    /// Whether input `slot` needs a gradient; ops skip work for inputs that do not.
    public func needs(_ slot: Int) -> Bool { tape.requiresGrad[inputs[slot]] }
}

/// The record of a computation; owns the gradients after `backward`.
public final class Tape {
    public typealias Backward = (_ gradOutput: Tensor, _ sink: GradientSink) -> Void

    fileprivate var requiresGrad: [Bool] = []
    private var inputs: [[Int]] = []
    private var backwards: [Backward?] = []
    fileprivate var gradients: [Tensor?] = []

    public init() {}

    /// Number of values recorded.
    public var count: Int { requiresGrad.count }

    /// A leaf: an input (no gradient) or a trainable value (gradient).
    public func leaf(_ value: Tensor, requiresGrad: Bool = false) -> Var {
        append(requiresGrad: requiresGrad, inputs: [], backward: nil)
        return Var(tape: self, id: count - 1, value: value, requiresGrad: requiresGrad)
    }

    /// A constant input (no gradient).
    public func constant(_ value: Tensor) -> Var { leaf(value, requiresGrad: false) }

    /// Records an op's output. `backward` is kept only if some input needs a gradient.
    public func record(_ value: Tensor, inputs: [Var], backward: @escaping Backward) -> Var {
        for input in inputs {
            precondition(input.tape === self, "an op mixes values from two tapes")
        }
        let needs = inputs.contains { $0.requiresGrad }
        append(requiresGrad: needs, inputs: needs ? inputs.map(\.id) : [], backward: needs ? backward : nil)
        return Var(tape: self, id: count - 1, value: value, requiresGrad: needs)
    }

    private func append(requiresGrad needs: Bool, inputs ids: [Int], backward: Backward?) {
        requiresGrad.append(needs)
        inputs.append(ids)
        backwards.append(backward)
        gradients.append(nil)
    }

    /// Back-propagates from `output`, seeded with `seed` (default: ones, so a scalar loss gets 1).
    /// Gradients accumulate into whatever earlier backward calls left, like PyTorch's `.grad`.
    public func backward(_ output: Var, seed: Tensor? = nil) {
        precondition(output.tape === self, "backward of a value from another tape")
        let start = seed ?? Tensor(repeating: 1, shape: output.shape)
        precondition(start.shape == output.shape, "seed shape \(start.shape) for output \(output.shape)")
        guard output.requiresGrad else { return }
        accumulate(output.id, start)
        for id in stride(from: output.id, through: 0, by: -1) {
            guard let backward = backwards[id], let gradOutput = gradients[id] else { continue }
            backward(gradOutput, GradientSink(tape: self, inputs: inputs[id]))
            // Intermediate gradients are not needed once passed on; leaves keep theirs.
            if !inputs[id].isEmpty { gradients[id] = nil }
        }
    }

    /// The gradient accumulated for a value, or nil if none reached it.
    public func gradient(of value: Var) -> Tensor? { gradients[value.id] }

    /// Clears all gradients (the tape itself stays).
    public func zeroGradients() {
        for i in gradients.indices { gradients[i] = nil }
    }

    fileprivate func accumulate(_ id: Int, _ gradient: Tensor) {
        guard requiresGrad[id] else { return }
        if gradients[id] == nil {
            gradients[id] = gradient
        } else {
            gradients[id]!.addScaled(gradient)
        }
    }

    fileprivate func accumulateRows(_ id: Int, rows: [Int], values: Tensor, shape: [Int]) {
        guard requiresGrad[id] else { return }
        let width = shape.count == 2 ? shape[1] : Tensor.count(of: Array(shape.dropFirst()))
        precondition(values.count == rows.count * width, "addRows: \(rows.count) rows of width \(width), values \(values.shape)")
        if gradients[id] == nil { gradients[id] = Tensor(zeros: shape) }
        values.scalars.withUnsafeBufferPointer { src in
            gradients[id]!.scalars.withUnsafeMutableBufferPointer { dst in
                for (i, row) in rows.enumerated() {
                    let out = row * width, inp = i * width
                    for c in 0..<width { dst[out + c] += src[inp + c] }
                }
            }
        }
    }
}
