import Foundation
import XCTest
import Tensor
import Autograd
import TestSupport

final class HessianVectorTests: XCTestCase {
    /// Logistic regression L(w, b) = mean_i BCE(x_i·w + b, t_i) has the exact Hessian
    /// H = (1/N) Σ_i p_i (1 - p_i) φ_i φ_iᵀ with φ_i = (x_i, 1), p_i = σ(x_i·w + b).
    func testMatchesExactLogisticRegressionHessian() {
        var rng = SeededGenerator(seed: 31)
        let (n, d) = (16, 3)
        let x = Tensor.randomNormal([n, d], using: &rng)
        let t = Tensor(shape: [n, 1], scalars: (0..<n).map { Float($0 % 2) })
        let parameters = Parameters([("w", Tensor.randomNormal([d, 1], using: &rng)), ("b", Tensor([0.3]))])
        let vector = Parameters([("w", Tensor.randomNormal([d, 1], using: &rng)), ("b", Tensor([-0.8]))])
        func loss(_ g: Graph) -> Var {
            binaryCrossEntropyWithLogits(matmul(g.constant(x), g.param("w")).addingBias(g.param("b")), targets: t)
        }
        // Exact H v in Double.
        let w = parameters.require("w").scalars.map(Double.init), b = Double(parameters.require("b").scalars[0])
        let vw = vector.require("w").scalars.map(Double.init), vb = Double(vector.require("b").scalars[0])
        var exact = [Double](repeating: 0, count: d + 1)
        for i in 0..<n {
            let phi = (0..<d).map { Double(x[i, $0]) } + [1]
            let z = zip(phi.prefix(d), w).map(*).reduce(0, +) + b
            let p = 1 / (1 + exp(-z))
            let phiV = zip(phi, vw + [vb]).map(*).reduce(0, +)
            for j in 0..<(d + 1) { exact[j] += p * (1 - p) * phi[j] * phiV / Double(n) }
        }
        let product = hessianVectorProduct(at: parameters, vector: vector, loss)
        let approximate = product.require("w").scalars.map(Double.init) + [Double(product.require("b").scalars[0])]
        // Error budget (step s = 1e-3, |v| ~ 1): truncation s² |∇³L| |v|³ / 6 ~ 1e-7. Rounding: each float32
        // gradient component (|g| <= ~0.3, ulp ~3e-8) sums 16 rows, so it is off by at most ~16 ulp ~ 5e-7;
        // the difference of two divided by 2s = 2e-3 gives at most ~5e-4, typically 1e-5 (measured 1.2e-5).
        // Tolerance 5e-4 against |H v| ~ 7e-2.
        for j in 0..<(d + 1) {
            XCTAssertEqual(approximate[j], exact[j], accuracy: 5e-4, "component \(j): \(approximate) vs \(exact)")
        }
        print("hessianVectorProduct: max abs error \(zip(approximate, exact).map { abs($0 - $1) }.max()!) for |Hv| up to \(exact.map(abs).max()!)")
        XCTAssertGreaterThan(exact.map(abs).max()!, 1e-2, "the test Hessian-vector product is too small to tell")
    }
}
