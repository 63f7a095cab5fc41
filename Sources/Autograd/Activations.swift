import Foundation
import Tensor

// Elementwise activations, each with its derivative beside it. The backward closures capture the
// input x or the output y, whichever the derivative is cheaper to write in.

/// Rectified linear unit: max(x, 0); d/dx = 1 where x > 0.
public func relu(_ x: Var) -> Var {
    let input = x.value
    return x.tape.record(input.map { Swift.max($0, 0) }, inputs: [x]) { g, sink in
        sink.add(0, Tensor.zipMap(g, input) { gi, xi in xi > 0 ? gi : 0 })
    }
}

/// Gaussian error linear unit in its exact form, as BERT uses (Hendrycks & Gimpel 2016):
/// gelu(x) = x Φ(x) = 0.5 x (1 + erf(x / √2)); d/dx = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
public func gelu(_ x: Var) -> Var {
    let input = x.value
    let cdf = input.map { 0.5 * (1 + erf($0 * Float(0.5).squareRoot())) }   // Φ(x)
    return x.tape.record(input * cdf, inputs: [x]) { g, sink in
        let pdfScale = 1 / (2 * Float.pi).squareRoot()
        var grad = Tensor.zipMap(input, cdf) { xi, phi in phi + xi * pdfScale * exp(-0.5 * xi * xi) }
        grad = grad * g
        sink.add(0, grad)
    }
}

/// Logistic sigmoid σ(x) = 1 / (1 + e^-x), evaluated without overflow for large |x|; dσ = σ(1 - σ).
public func sigmoid(_ x: Var) -> Var {
    let out = x.value.map(stableSigmoid)
    return x.tape.record(out, inputs: [x]) { g, sink in
        sink.add(0, Tensor.zipMap(g, out) { gi, yi in gi * yi * (1 - yi) })
    }
}

/// Hyperbolic tangent; d tanh = 1 - tanh².
public func tanh(_ x: Var) -> Var {
    let out = x.value.map { Foundation.tanh($0) }
    return x.tape.record(out, inputs: [x]) { g, sink in
        sink.add(0, Tensor.zipMap(g, out) { gi, yi in gi * (1 - yi * yi) })
    }
}

/// σ(x) that never computes exp of a large positive number.
@inline(__always)
func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}
