import Autograd
import Tensor
import XCTest

/// The outcome of comparing analytic gradients with central finite differences.
public struct GradientCheckResult: CustomStringConvertible {
    /// Largest |analytic - numeric| / max(1, |analytic|, |numeric|) over the checked elements.
    public var worstRelativeError: Double
    /// Where it happened ("input 0 [12]" or "parameter encoder.w [3]").
    public var worstLocation: String
    public var checkedElements: Int

    public var description: String {
        "gradient check: worst relative error \(worstRelativeError) at \(worstLocation) over \(checkedElements) elements"
    }
}

/// Checks the gradients of `function` with respect to `inputs` by central differences.
///
/// The output is reduced to a scalar by a fixed random projection (sum of output * R), so every output
/// element's derivative is exercised. Float32 central differences with step h have truncation error
/// O(h^2 f''') and rounding error O(eps_f32 |f| / h); with h = 1e-2 and outputs of order 1 both are
/// about 1e-4 .. 1e-3, hence the default tolerance 1e-2 on the relative error. `maxElements` samples
/// that many positions per input (all when nil).
public func checkGradients(
    inputs: [Tensor], step: Float = 1e-2, maxElements: Int? = 64, seed: UInt64 = 7,
    _ function: ([Var]) -> Var
) -> GradientCheckResult {
    var rng = SeededGenerator(seed: seed)
    // Analytic gradients.
    let tape = Tape()
    let vars = inputs.map { tape.leaf($0, requiresGrad: true) }
    let output = function(vars)
    let projection = Tensor.randomNormal(output.shape, using: &rng)
    tape.backward(output, seed: projection)
    let analytic = vars.map { tape.gradient(of: $0) ?? Tensor(zeros: $0.shape) }

    func projected(_ values: [Tensor]) -> Double {
        let t = Tape()
        let out = function(values.map { t.constant($0) }).value
        var total = 0.0
        for i in 0..<out.count { total += Double(out.scalars[i]) * Double(projection.scalars[i]) }
        return total
    }

    var result = GradientCheckResult(worstRelativeError: 0, worstLocation: "none", checkedElements: 0)
    for (slot, input) in inputs.enumerated() {
        var positions = Array(0..<input.count)
        if let limit = maxElements, positions.count > limit {
            positions.shuffle(using: &rng)
            positions = Array(positions.prefix(limit))
        }
        for position in positions {
            var plus = inputs, minus = inputs
            plus[slot].scalars[position] += step
            minus[slot].scalars[position] -= step
            let numeric = (projected(plus) - projected(minus)) / (2 * Double(step))
            let exact = Double(analytic[slot].scalars[position])
            let error = abs(exact - numeric) / max(1, abs(exact), abs(numeric))
            if error > result.worstRelativeError {
                result.worstRelativeError = error
                result.worstLocation = "input \(slot) [\(position)] analytic \(exact) numeric \(numeric)"
            }
            result.checkedElements += 1
        }
    }
    return result
}

/// Checks the gradients of a scalar loss of named parameters (a whole model) by central differences.
/// Samples `perTensor` positions of each parameter tensor.
public func checkGradients(
    parameters: Parameters, step: Float = 1e-2, perTensor: Int = 4, seed: UInt64 = 7,
    _ loss: (Graph) -> Var
) -> GradientCheckResult {
    var rng = SeededGenerator(seed: seed)
    let (_, analytic) = valueAndGradient(at: parameters, training: false, loss)
    func value(_ p: Parameters) -> Double {
        Double(loss(Graph(parameters: p, trainable: false, training: false)).value.scalars[0])
    }
    var result = GradientCheckResult(worstRelativeError: 0, worstLocation: "none", checkedElements: 0)
    for (name, tensor) in parameters {
        for _ in 0..<min(perTensor, tensor.count) {
            let position = Int.random(in: 0..<tensor.count, using: &rng)
            var plus = parameters, minus = parameters
            plus[name]!.scalars[position] += step
            minus[name]!.scalars[position] -= step
            let numeric = (value(plus) - value(minus)) / (2 * Double(step))
            let exact = Double(analytic.require(name).scalars[position])
            let error = abs(exact - numeric) / max(1, abs(exact), abs(numeric))
            if error > result.worstRelativeError {
                result.worstRelativeError = error
                result.worstLocation = "parameter \(name) [\(position)] analytic \(exact) numeric \(numeric)"
            }
            result.checkedElements += 1
        }
    }
    return result
}

/// Runs `checkGradients` on the given inputs and asserts the worst relative error is below `tolerance`
/// (default 1e-2: see `checkGradients` for the float32 central-difference error budget).
public func assertGradientsMatch(_ inputs: [Tensor], tolerance: Double = 1e-2, maxElements: Int? = 64,
                          file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Var]) -> Var) {
    let result = checkGradients(inputs: inputs, maxElements: maxElements, f)
    XCTAssertLessThan(result.worstRelativeError, tolerance, result.description, file: file, line: line)
    XCTAssertGreaterThan(result.checkedElements, 0, file: file, line: line)
}
