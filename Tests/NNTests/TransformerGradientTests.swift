import XCTest
import Tensor
import Autograd
import NN
import TestSupport

/// Finite-difference checks of whole models built from the NN layers.
///
/// Tolerance 1e-2 on the checker's relative error |analytic - numeric| / max(1, |analytic|, |numeric|),
/// step h = 3e-3. The loss is evaluated in float32, so a central difference carries a rounding error of
/// about eps_f32 * |loss| * sqrt(#ops) / h (6e-8 * 15 * 10 / 3e-3 ~ 3e-3 at worst, much less in practice)
/// and a truncation error h^2 / 6 * f''' (~1.5e-6 * f''', f''' of order 1..10 through softmaxes and
/// layer norms). The step is below the checker's default 1e-2 because of the ReLUs: a feed-forward
/// pre-activation within h of its kink mixes the two slopes, which at h = 1e-2 produced a 1.8e-2 error
/// (analytic -0.215, numeric -0.198 on a feed-forward input weight) that vanishes at h = 3e-3 and 1e-3
/// (worst errors measured 3.6e-4 and 1.2e-3). The loss is summed, not averaged, over target tokens so the
/// gradients are of order 0.1 .. 1 and a wrong derivative shows up well above 1e-2:
/// `testCheckCatchesAWrongDerivative` plants a 20% error in one backward and must be caught.
final class TransformerGradientTests: XCTestCase {
    static let (pad, sos) = (1, 3)
    static let step: Float = 3e-3
    let config = TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16)
    let vocabulary = 11
    // B = 2, T_src = 5, T_tgt = 4, padding in both.
    let source = [[5, 6, 7, 8, 9], [4, 10, 6, 1, 1]]
    let target = [[6, 8, 9, 2], [7, 2, 1, 1]]

    var embedding: Embedding { Embedding(name: "embedding", vocabularySize: vocabulary, width: 8, paddingIndex: Self.pad) }
    var encoder: TransformerEncoder { TransformerEncoder(name: "encoder", config: config) }
    var decoder: TransformerDecoder { TransformerDecoder(name: "decoder", config: config) }

    /// Random weights, then every tensor (layer norms and the PAD row included) moved off its
    /// initial value so no parameter sits at a special point (gamma = 1, beta = 0, zero rows).
    func parameters(seed: UInt64) -> Parameters {
        var params = Parameters()
        var rng = SeededGenerator(seed: seed)
        embedding.initialize(into: &params, using: &rng)
        encoder.initialize(into: &params, using: &rng)
        decoder.initialize(into: &params, using: &rng)
        return params.mapTensors { _, t in t + Tensor.randomNormal(t.shape, std: 0.1, using: &rng) }
    }

    /// Tied embeddings (encoder input, decoder input, output projection), label-smoothed cross-entropy
    /// ignoring PAD. `corrupt` scales the gradient flowing out of the encoder by 0.8 (a planted bug).
    func loss(_ g: Graph, corrupt: Bool = false) -> Var {
        let (batch, sourceLength, targetLength) = (source.count, source[0].count, target[0].count)
        let sourceIds = source.flatMap { $0 }
        let sourcePadding = sourceIds.map { $0 == Self.pad }
        let decoderInput = target.flatMap { [Self.sos] + $0.dropLast() }
        var memory = encoder(g, embedding(g, sourceIds, shape: [batch, sourceLength]), padding: sourcePadding)
        if corrupt {
            memory = g.tape.record(memory.value, inputs: [memory]) { grad, sink in sink.add(0, grad * 0.8) }
        }
        let h = decoder(g, embedding(g, decoderInput, shape: [batch, targetLength]), memory: memory,
                        sourcePadding: sourcePadding)                                       // [B, T, C]
        let logits = embedding.logits(g, h).reshaped([batch * targetLength, vocabulary])    // [N, V]
        return crossEntropy(logits: logits, targets: target.flatMap { $0 }, ignoreIndex: Self.pad,
                            labelSmoothing: 0.1, reduction: .sum)
    }

    func testEncoderDecoderWithTiedEmbeddingsGradients() {
        let params = parameters(seed: 17)
        let result = checkGradients(parameters: params, step: Self.step, perTensor: 12) { self.loss($0) }
        print(result)
        XCTAssertEqual(result.checkedElements, params.names.reduce(0) { $0 + min(12, params[$1]!.count) })
        XCTAssertLessThan(result.worstRelativeError, 1e-2, result.description)
        // Every parameter tensor receives a gradient (nothing is disconnected).
        let (_, gradients) = valueAndGradient(at: params, training: false) { self.loss($0) }
        for (name, gradient) in gradients {
            XCTAssertGreaterThan(gradient.squaredNorm(), 0, "no gradient reaches \(name)")
        }
    }

    func testCheckCatchesAWrongDerivative() {
        let result = checkGradients(parameters: parameters(seed: 17), step: Self.step, perTensor: 12) {
            self.loss($0, corrupt: true)
        }
        print("planted bug:", result)
        XCTAssertGreaterThan(result.worstRelativeError, 1e-2, "a planted 20% gradient error went unnoticed: \(result)")
    }

    func testGRUGradients() {
        let gru = GRU(name: "gru", inputSize: 3, hiddenSize: 4)
        var params = Parameters()
        var rng = SeededGenerator(seed: 23)
        gru.initialize(into: &params, using: &rng)
        params["x"] = Tensor.randomNormal([2, 5, 3], using: &rng)        // [B, T, In]
        params["h0"] = Tensor.randomNormal([2, 4], std: 0.5, using: &rng)  // [B, Hd]
        let weightsAll = Tensor.randomNormal([2, 5, 4], using: &rng)
        let weightsLast = Tensor.randomNormal([2, 4], using: &rng)
        let result = checkGradients(parameters: params, perTensor: 12) { g in
            let (outputs, last) = gru(g, g.param("x"), initial: g.param("h0"), lengths: [5, 3])
            return (outputs * g.constant(weightsAll)).sum() + (last * g.constant(weightsLast)).sum()
        }
        XCTAssertLessThan(result.worstRelativeError, 1e-2, result.description)
        XCTAssertEqual(result.checkedElements, 5 * 12 + 8)
    }
}
