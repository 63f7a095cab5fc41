import Foundation
import XCTest
import Tensor
import Autograd
import NN
import TestSupport

/// Deterministic test values, the same formula as `pattern` in References/layer_reference.py.
func pattern(_ shape: [Int], _ phase: Double, _ scale: Double = 1) -> Tensor {
    Tensor(shape: shape, scalars: (0..<Tensor.count(of: shape)).map { Float(scale * sin(Double($0) * 0.7 + phase)) })
}

final class LayerTests: XCTestCase {
    // Golden values from References/layer_reference.py (float64 numpy).

    func testLinearMatchesNumpy() {
        let layer = Linear(name: "fc", inputSize: 4, outputSize: 5)
        let params = Parameters([("fc.weight", pattern([5, 4], 0.2, 0.5)), ("fc.bias", pattern([5], 0.3, 0.1))])
        let g = Graph(parameters: params, trainable: false)
        let y = layer(g, g.constant(pattern([2, 3, 4], 0.1)))
        let expected: [Float] = [1.120416, -0.9477173, 0.952794, -0.5092031, 0.2373829, -0.9354264, 1.098066, -0.8465292, 0.8357386, -0.4977621, 0.7571365, -0.7946625, 1.02765, -0.8033201, 0.716774, -0.3765623, 0.7262964, -0.7048139, 0.9404537, -0.8368072, 0.06726753, -0.247138, 0.6857394, -0.7065329, 0.8762945, 0.3645936, 0.06628632, -0.2022174, 0.6533484, -0.7983696]
        assertClose(y.value, Tensor(shape: [2, 3, 5], scalars: expected))
    }

    func testLayerNormMatchesNumpy() {
        let layer = LayerNorm(name: "ln", width: 6)
        let weight = pattern([6], 0.5, 0.2).map { 1 + $0 }
        let params = Parameters([("ln.weight", weight), ("ln.bias", pattern([6], 0.6, 0.1))])
        let g = Graph(parameters: params, trainable: false)
        let y = layer(g, g.constant(pattern([2, 3, 6], 0.4, 3).map { $0 + 1.5 }))
        let expected: [Float] = [0.1293311, 1.209196, 1.377138, 0.5166, -0.7143436, -1.613068, -1.376005, -1.209422, -0.376822, 0.574558, 1.053242, 0.9407896, 2.031582, 0.7697802, -0.6237644, -1.230039, -0.8302862, 0.1013113, 0.2002356, 1.23457, 1.352928, 0.4714827, -0.7439589, -1.608188, -1.402903, -1.20415, -0.3496649, 0.5988052, 1.055452, 0.9178791, 2.022458, 0.7197208, -0.6771024, -1.246634, -0.7981276, 0.1668321]
        assertClose(y.value, Tensor(shape: [2, 3, 6], scalars: expected), absolute: 1e-5, relative: 1e-4)
    }

    func testLayerNormInitializationIsIdentityOnNormalizedRows() {
        var params = Parameters()
        LayerNorm(name: "ln", width: 4).initialize(into: &params)
        XCTAssertEqual(params["ln.weight"], Tensor([1, 1, 1, 1]))
        XCTAssertEqual(params["ln.bias"], Tensor([0, 0, 0, 0]))
    }

    func testSinusoidalPositionsMatchTimingSignal() {
        let expected: [Float] = [0.9092974, 0.01999867, 0.0002, -0.4161468, 0.9998, 1, 0, 0.14112, 0.0299955, 0.0003, -0.9899925, 0.99955, 1, 0, -0.7568025, 0.03998933, 0.0004, -0.6536436, 0.9992001, 0.9999999, 0]
        assertClose(sinusoidalPositions(count: 3, width: 7, start: 2), Tensor(shape: [3, 7], scalars: expected))
        // An offset start is a slice of the signal from 0.
        let whole = sinusoidalPositions(count: 6, width: 8)
        assertClose(sinusoidalPositions(count: 2, width: 8, start: 4), whole.slice(rows: 4..<6))
    }

    /// Inputs of 256 rows or more take the joined query/key/value product; it must give the values and
    /// parameter gradients of the three separate projections (written out here), for self- and
    /// cross-attention.
    func testJoinedProjectionsMatchSeparateOnes() {
        let attention = MultiHeadAttention(name: "attn", width: 12, heads: 2, keyDepth: 8, valueDepth: 8, hasBias: true)
        var parameters = Parameters()
        var rng = SeededGenerator(seed: 5)
        attention.initialize(into: &parameters, using: &rng)
        let x = Tensor.randomNormal([4, 70, 12], using: &rng)        // 280 rows
        let memory = Tensor.randomNormal([4, 66, 12], using: &rng)   // 264 rows
        let padding = (0..<(4 * 66)).map { $0 % 66 >= 60 && $0 / 66 == 2 }
        let projection = Tensor.randomNormal([4, 70, 12], using: &rng)
        for cross in [false, true] {
            func loss(_ g: Graph, joined: Bool) -> Var {
                let input = g.constant(x), source = cross ? g.constant(memory) : input
                let y: Var
                if joined {
                    y = attention(g, input, memory: cross ? source : nil, keyPadding: cross ? padding : nil, causal: !cross)
                } else {
                    let q = splitHeads(attention.query(g, input), heads: 2)
                    let k = splitHeads(attention.key(g, source), heads: 2)
                    let v = splitHeads(attention.value(g, source), heads: 2)
                    let mask = AttentionMask(keyPadding: cross ? padding : nil, causal: !cross)
                    y = attention.output(g, mergeHeads(scaledDotProductAttention(query: q, key: k, value: v, mask: mask)))
                }
                return (y * g.constant(projection)).sum()
            }
            let joined = valueAndGradient(at: parameters, training: false) { loss($0, joined: true) }
            let separate = valueAndGradient(at: parameters, training: false) { loss($0, joined: false) }
            assertClose(Tensor(scalar: joined.value), Tensor(scalar: separate.value), relative: 1e-5)
            for name in parameters.names {
                assertClose(joined.gradients.require(name), separate.gradients.require(name), absolute: 1e-4,
                            "\(cross ? "cross" : "self")-attention gradient of \(name)")
            }
        }
    }

    func testSelfAttentionWithPaddingAndCausalMaskMatchesNumpy() {
        let attention = MultiHeadAttention(name: "attn", width: 4, heads: 2, keyDepth: 4, valueDepth: 4, hasBias: true)
        let params = Parameters([
            ("attn.query.weight", pattern([4, 4], 1.0, 0.5)), ("attn.query.bias", pattern([4], 1.1, 0.1)),
            ("attn.key.weight", pattern([4, 4], 1.2, 0.5)), ("attn.key.bias", pattern([4], 1.3, 0.1)),
            ("attn.value.weight", pattern([4, 4], 1.4, 0.5)), ("attn.value.bias", pattern([4], 1.5, 0.1)),
            ("attn.output.weight", pattern([4, 4], 1.6, 0.5)), ("attn.output.bias", pattern([4], 1.7, 0.1)),
        ])
        var initialized = Parameters()
        var rng = SeededGenerator(seed: 1)
        attention.initialize(into: &initialized, using: &rng)
        XCTAssertEqual(initialized.names, params.names)
        XCTAssertEqual(initialized.names.map { initialized[$0]!.shape }, params.names.map { params[$0]!.shape })

        let g = Graph(parameters: params, trainable: false)
        let y = attention(g, g.constant(pattern([2, 3, 4], 0.8)),
                          keyPadding: [false, false, false, false, false, true], causal: true)
        let expected: [Float] = [0.5914342, -0.3266216, 0.254678, -0.1391088, -0.1360232, 0.210002, -0.02910204, -0.1409646, 0.5335233, -0.2788808, 0.222624, -0.1264457, 0.01870186, 0.07780495, 0.06529086, -0.1866458, 0.282924, -0.1059586, 0.1473609, -0.1575388, 0.02047791, 0.1138022, -0.004320097, -0.09146509]
        assertClose(y.value, Tensor(shape: [2, 3, 4], scalars: expected))
    }

    func testGRUWithInitialStateAndLengthsMatchesNumpy() {
        let gru = GRU(name: "gru", inputSize: 3, hiddenSize: 2)
        let params = Parameters([
            ("gru.weight_ih", pattern([6, 3], 2.2, 0.6)), ("gru.weight_hh", pattern([6, 2], 2.3, 0.6)),
            ("gru.bias_ih", pattern([6], 2.4, 0.2)), ("gru.bias_hh", pattern([6], 2.5, 0.2)),
        ])
        let g = Graph(parameters: params, trainable: false)
        let (outputs, last) = gru(g, g.constant(pattern([2, 3, 3], 2.0)),
                                  initial: g.constant(pattern([2, 2], 2.1, 0.5)), lengths: [3, 2])
        let expectedOutputs: [Float] = [-0.2084251, 0.1014241, 0.5047441, -0.4990058, 0.0385933, 0.306396, -0.4878027, -0.186411, 0.3366452, -0.6006953, 0.3366452, -0.6006953]
        assertClose(outputs.value, Tensor(shape: [2, 3, 2], scalars: expectedOutputs))
        assertClose(last.value, Tensor(shape: [2, 2], scalars: [0.0385933, 0.306396, 0.3366452, -0.6006953]))
        // Without lengths and initial state: zeros start, every step updates, last = final output row.
        let (all, final) = gru(g, g.constant(pattern([2, 3, 3], 2.0)))
        XCTAssertEqual(all.shape, [2, 3, 2])
        XCTAssertEqual(final.value, slice(all, axis: 1, range: 2..<3).reshaped([2, 2]).value)
    }

    // Shapes and parameter inventory.

    func testEmbeddingLookupTiedLogitsAndPretrainedMatrix() {
        let embedding = Embedding(name: "emb", vocabularySize: 6, width: 4, paddingIndex: 1)
        var params = Parameters()
        var rng = SeededGenerator(seed: 3)
        embedding.initialize(into: &params, using: &rng)
        let table = params["emb.weight"]!
        XCTAssertEqual(table.shape, [6, 4])
        XCTAssertEqual(Array(table.scalars[4..<8]), [0, 0, 0, 0], "padding row starts at zero")
        // Rows have about unit norm: C * C^-1 = 1 expected squared norm.
        let meanSquaredNorm = table.squaredNorm() / 5
        XCTAssert(meanSquaredNorm > 0.3 && meanSquaredNorm < 3, "mean squared row norm \(meanSquaredNorm)")

        let g = Graph(parameters: params, trainable: false)
        let looked = embedding(g, [2, 0, 5, 2, 1, 3], shape: [2, 3])
        XCTAssertEqual(looked.shape, [2, 3, 4])
        XCTAssertEqual(Array(looked.value.scalars[0..<4]), Array(table.scalars[8..<12]))
        let logits = embedding.logits(g, looked)
        XCTAssertEqual(logits.shape, [2, 3, 6])
        assertClose(logits.value[0, 0, 2], Float(table.slice(rows: 2..<3).squaredNorm()))

        var pretrained = Parameters()
        let matrix = pattern([6, 4], 0.9)
        embedding.initialize(into: &pretrained, from: matrix)
        XCTAssertEqual(pretrained["emb.weight"], matrix)
    }

    func testTransformerStacksShapesAndParameterNames() {
        let config = TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 6, valueDepth: 6, filterSize: 16)
        let encoder = TransformerEncoder(name: "encoder", config: config, inputWidth: 5)
        let decoder = TransformerDecoder(name: "decoder", config: config)
        var params = Parameters()
        var rng = SeededGenerator(seed: 5)
        encoder.initialize(into: &params, using: &rng)
        decoder.initialize(into: &params, using: &rng)
        XCTAssertEqual(params["encoder.inputProjection.weight"]?.shape, [8, 5])
        XCTAssertNil(params["decoder.inputProjection.weight"])
        XCTAssertEqual(params["encoder.layers.1.attention.query.weight"]?.shape, [6, 8])
        XCTAssertEqual(params["decoder.layers.0.crossAttention.value.weight"]?.shape, [6, 8])
        XCTAssertEqual(params["decoder.layers.0.crossAttention.output.weight"]?.shape, [8, 6])
        XCTAssertEqual(params["decoder.layers.1.feedForward.input.weight"]?.shape, [16, 8])
        XCTAssertEqual(params["decoder.norm.weight"]?.shape, [8])
        // Per encoder layer: 2 norms x 2 + 4 projections + 2 linears x 2; per decoder layer 3 x 2 + 8 + 4.
        XCTAssertEqual(params.count, 1 + 2 * 12 + 2 + 2 * 18 + 2)

        let g = Graph(parameters: params, trainable: false)
        let padding = [false, false, false, false, false, false, false, true, true, true]
        let memory = encoder(g, g.constant(pattern([2, 5, 5], 0.3)), padding: padding)
        XCTAssertEqual(memory.shape, [2, 5, 8])
        let h = decoder(g, g.constant(pattern([2, 3, 8], 0.7)), memory: memory, sourcePadding: padding)
        XCTAssertEqual(h.shape, [2, 3, 8])
        XCTAssert(h.value.scalars.allSatisfy(\.isFinite))
    }

    func testEncoderIgnoresPaddedPositionsAndDropoutOnlyWhenTraining() {
        let config = TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16,
                                       inputDropout: 0.1, layerDropout: 0.1, attentionDropout: 0.1, reluDropout: 0.1)
        let encoder = TransformerEncoder(name: "encoder", config: config)
        var params = Parameters()
        var rng = SeededGenerator(seed: 9)
        encoder.initialize(into: &params, using: &rng)
        let x = pattern([1, 4, 8], 0.2)
        var changed = x
        for c in 0..<8 { changed.scalars[3 * 8 + c] = 5 }   // garbage in the padded position 3
        let padding = [false, false, false, true]
        let g = Graph(parameters: params, trainable: false)
        let a = encoder(g, g.constant(x), padding: padding).value
        let b = encoder(g, g.constant(changed), padding: padding).value
        assertClose(a.slice(rows: 0..<1).reshaped([4, 8]).slice(rows: 0..<3),
                    b.slice(rows: 0..<1).reshaped([4, 8]).slice(rows: 0..<3), "real positions must not see padding")
        // Evaluation is deterministic; training applies dropout.
        XCTAssertEqual(encoder(g, g.constant(x), padding: padding).value, a)
        let trainingGraph = Graph(parameters: params, trainable: false, training: true, seed: 1)
        XCTAssertNotEqual(encoder(trainingGraph, trainingGraph.constant(x), padding: padding).value, a)
    }

    // Incremental decoding: the cached forward equals the full causal forward.

    func testIncrementalDecodingWithCacheMatchesFullForward() {
        let config = TransformerConfig(layers: 2, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 16)
        let decoder = TransformerDecoder(name: "decoder", config: config)
        var params = Parameters()
        var rng = SeededGenerator(seed: 21)
        decoder.initialize(into: &params, using: &rng)
        let (batch, steps, sourceLength) = (2, 5, 4)
        let g = Graph(parameters: params, trainable: false)
        let memory = g.constant(Tensor.randomNormal([batch, sourceLength, 8], using: &rng))
        let sourcePadding = [false, false, false, false, false, false, true, true]
        let x = g.constant(Tensor.randomNormal([batch, steps, 8], using: &rng))
        let full = decoder(g, x, memory: memory, sourcePadding: sourcePadding)   // [B, T, C]

        // One position per step.
        var cache: KeyValueCache? = KeyValueCache(layers: 2)
        for t in 0..<steps {
            let step = decoder(g, slice(x, axis: 1, range: t..<(t + 1)), memory: memory,
                               sourcePadding: sourcePadding, cache: &cache)          // [B, 1, C]
            assertClose(step.value, slice(full, axis: 1, range: t..<(t + 1)).value, absolute: 1e-5, relative: 1e-4,
                        "step \(t)")
            XCTAssertEqual(cache!.length, t + 1)
            XCTAssertEqual(cache!.layers[1].crossAttention.length, sourceLength, "memory projected once")
        }
        // A prefix of 3 in one call, then 2 more: the same outputs.
        var chunked: KeyValueCache? = KeyValueCache(layers: 2)
        let prefix = decoder(g, slice(x, axis: 1, range: 0..<3), memory: memory, sourcePadding: sourcePadding, cache: &chunked)
        let rest = decoder(g, slice(x, axis: 1, range: 3..<5), memory: memory, sourcePadding: sourcePadding, cache: &chunked)
        assertClose(concatenate([prefix, rest], axis: 1).value, full.value, absolute: 1e-5, relative: 1e-4)
        XCTAssertEqual(chunked!.length, 5)
    }
}

final class ProgressTests: XCTestCase {
    /// A run resumed at step 4,000 of 40,000 that did 100 steps in 60 s has 35,900 steps (about 6 h) left,
    /// not the 9 minutes that dividing by the absolute step would claim.
    func testETAUsesTheStepsOfThisProcess() {
        XCTAssertEqual(ProgressReporter.eta(elapsed: 60, stepsDone: 100, remaining: 35_900), 21_540, accuracy: 1e-9)
        XCTAssertEqual(ProgressReporter.eta(elapsed: 60, stepsDone: 0, remaining: 10), 0)
        XCTAssertEqual(ProgressReporter.eta(elapsed: 60, stepsDone: 10, remaining: 0), 0)
    }
}
