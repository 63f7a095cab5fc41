import Foundation
import TestSupport
import XCTest
import Tensor
import Autograd

/// wave(n, a, b, s)[i] = s * sin(i * a + b): the deterministic inputs shared with
/// References/make_references.py (computed in Double, rounded to Float).
func wave(_ shape: [Int], _ a: Double, _ b: Double, _ s: Double = 1) -> Tensor {
    Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { Float(s * sin(Double($0) * a + b)) })
}


/// Gradients of sum(f(inputs) * seed) with respect to each input.
func gradients(_ inputs: [Tensor], seed: Tensor? = nil, _ f: ([Var]) -> Var) -> [Tensor] {
    let tape = Tape()
    let vars = inputs.map { tape.leaf($0, requiresGrad: true) }
    let out = f(vars)
    tape.backward(out, seed: seed)
    return vars.map { tape.gradient(of: $0) ?? Tensor(zeros: $0.shape) }
}

/// The value of f on constant inputs.
func forward(_ inputs: [Tensor], _ f: ([Var]) -> Var) -> Tensor {
    let tape = Tape()
    return f(inputs.map { tape.constant($0) }).value
}
