import Foundation
import XCTest
import Tensor
import Autograd
import NN
import Text
@testable import NLI
import TestSupport

/// BertEncoder against Hugging Face's BertModel on the all-MiniLM-L6-v2 weights (golden values from
/// References/make_bert_golden.py, committed with its output References/bert_golden.json), plus strict
/// loading and finite-difference gradients on a tiny random BERT.
final class BertEncoderTests: XCTestCase {
    struct Golden: Decodable {
        struct Row: Decodable {
            let premise: String, hypothesis: String
            let positions: [Int]
            let hidden: [[Float]]
            let mean_pooled: [Float]
        }
        let max_length: Int
        let input_ids: [[Int]], token_type_ids: [[Int]], attention_mask: [[Int]]
        let rows: [Row]
    }

    func miniLMFolder() throws -> URL {
        guard let folder = MiniLMLocation.find() else {
            throw XCTSkip("all-MiniLM-L6-v2 not installed; searched \(MiniLMLocation.searchedFolders())")
        }
        return folder
    }

    /// Tokenizer + encoder end to end: ids equal Hugging Face's, hidden states and mean-pooled
    /// embeddings within 1e-4 absolute (float32 both sides; differences come from summation order).
    func testMiniLMMatchesTransformersBertModel() throws {
        let folder = try miniLMFolder()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("References/bert_golden.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let tokenizer = try WordPieceTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.txt"))
        let (encoder, parameters) = try BertEncoder.loadPretrained(from: folder)
        XCTAssertEqual(encoder.config, .miniLM)
        XCTAssertEqual(parameters.scalarCount, 22_565_376)

        let batch = BertBatch(golden.rows.map {
            tokenizer.encode(premise: $0.premise, hypothesis: $0.hypothesis, maxLength: golden.max_length)
        })
        XCTAssertEqual(batch.inputIDs, golden.input_ids.flatMap { $0 })
        XCTAssertEqual(batch.tokenTypeIDs, golden.token_type_ids.flatMap { $0 })
        XCTAssertEqual(batch.attentionMask, golden.attention_mask.flatMap { $0 })

        let g = Graph(parameters: parameters, trainable: false)
        let hidden = encoder(g, batch)                                              // [B, T, C]
        let pooled = BertEncoder.meanPool(g, hidden, mask: batch.attentionMask)     // [B, C]
        let (t, c) = (batch.length, encoder.config.hiddenSize)
        var worst: Float = 0
        for (b, row) in golden.rows.enumerated() {
            for (p, position) in row.positions.enumerated() {
                let start = (b * t + position) * c
                let actual = Tensor(Array(hidden.value.scalars[start..<(start + c)]))
                assertClose(actual, Tensor(row.hidden[p]), absolute: 1e-4, relative: 0, "row \(b) position \(position)")
                worst = max(worst, zip(actual.scalars, row.hidden[p]).map { abs($0 - $1) }.max()!)
            }
            let actual = Tensor(Array(pooled.value.scalars[(b * c)..<((b + 1) * c)]))
            assertClose(actual, Tensor(row.mean_pooled), absolute: 1e-4, relative: 0, "mean-pooled row \(b)")
            worst = max(worst, zip(actual.scalars, row.mean_pooled).map { abs($0 - $1) }.max()!)
        }
        print("BertEncoder vs transformers: worst absolute difference \(worst)")
    }

    /// The forward-only path (`BertInference`, packed sequences) against the same golden values, and the
    /// shipped NLI checkpoint's logits against the Autograd path on the golden pairs (max difference < 1e-4).
    func testForwardOnlyPathMatchesGoldenAndCheckpointLogits() throws {
        let folder = try miniLMFolder()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("References/bert_golden.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let tokenizer = try WordPieceTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.txt"))
        let (encoder, parameters) = try BertEncoder.loadPretrained(from: folder)
        let encodings = golden.rows.map { tokenizer.encode(premise: $0.premise, hypothesis: $0.hypothesis, maxLength: golden.max_length) }
        let packed = PackedSequences(encodings)
        let inference = BertInference(encoder: encoder, parameters: parameters)
        var hidden = inference.embed(packed)                                        // [N, C]
        inference.encode(&hidden, packed, layers: 0..<encoder.config.layers)
        let pooled = inference.meanPool(hidden, packed)                             // [S, C]
        let c = encoder.config.hiddenSize
        var compared = 0
        for (b, row) in golden.rows.enumerated() {
            // Golden rows were padded to one length; packed sequences have only their real positions.
            for (p, position) in row.positions.enumerated() where position < encodings[b].count {
                compared += 1
                let start = (packed.offsets[b] + position) * c
                assertClose(Tensor(Array(hidden[start..<(start + c)])), Tensor(row.hidden[p]), absolute: 1e-4, relative: 0,
                            "row \(b) position \(position)")
            }
            assertClose(Tensor(Array(pooled[(b * c)..<((b + 1) * c)])), Tensor(row.mean_pooled), absolute: 1e-4, relative: 0)
        }
        XCTAssertGreaterThanOrEqual(compared, golden.rows.count, "too few real golden positions compared")

        let checkpoint = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Checkpoints/nli").standardizedFileURL
        let (classifier, full, _) = try NLIClassifier.load(checkpoint: checkpoint, pretrained: folder)
        let g = Graph(parameters: full, trainable: false)
        let reference = classifier(g, BertBatch(encodings)).value                   // [S, K]
        let fast = classifier.logits(encodings, inference: classifier.inference(full), parameters: full)
        let worst = zip(fast.scalars, reference.scalars).map { abs($0 - $1) }.max()!
        print("NLI logits, forward-only vs Autograd path: worst absolute difference \(worst)")
        XCTAssertLessThan(worst, 1e-4)
        XCTAssertEqual(fast.argmaxRows(), reference.argmaxRows())
    }

    // MARK: Without the pretrained weights

    let tiny = BertConfig(vocabularySize: 11, hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, maxPositions: 7)

    func tinyParameters(seed: UInt64) -> Parameters {
        var rng = SeededGenerator(seed: seed)
        var p = Parameters()
        BertEncoder(config: tiny).initialize(into: &p, using: &rng)
        // Off the initial values (LayerNorm 1/0, tiny 0.02 weights) so gradients are of order 0.1..1.
        return p.mapTensors { _, t in t + Tensor.randomNormal(t.shape, std: 0.5, using: &rng) }
    }

    /// B = 2, T = 5, the second row padded; pairs with both segment ids.
    let tinyBatch = BertBatch([
        BertEncoding(inputIDs: [2, 5, 6, 3, 7], tokenTypeIDs: [0, 0, 0, 0, 1]),
        BertEncoding(inputIDs: [2, 8, 3], tokenTypeIDs: [0, 0, 0]),
    ])

    func testGradientsOfTinyBertReachEveryWeight() {
        let encoder = BertEncoder(config: tiny)
        let params = tinyParameters(seed: 5)
        var rng = SeededGenerator(seed: 9)
        let projection = Tensor.randomNormal([2, 8], using: &rng)
        let loss = { (g: Graph) -> Var in
            let pooled = BertEncoder.meanPool(g, encoder(g, self.tinyBatch), mask: self.tinyBatch.attentionMask)
            return (pooled * g.constant(projection)).sum()
        }
        let result = checkGradients(parameters: params, step: 3e-3, perTensor: 6, loss)
        print(result)
        XCTAssertLessThan(result.worstRelativeError, 1e-2, result.description)
        let (_, gradients) = valueAndGradient(at: params, training: false, loss)
        for (name, gradient) in gradients {
            // Only ids 2, 3, 5..8 are looked up, positions 0..4 and both segments.
            if name.hasPrefix("embeddings.") && !name.contains("LayerNorm") { continue }
            XCTAssertGreaterThan(gradient.squaredNorm(), 0, "no gradient reaches \(name)")
        }
        XCTAssertEqual(gradients["embeddings.word_embeddings.weight"]!.scalars[4 * 8..<5 * 8].map { $0 }, [Float](repeating: 0, count: 8))
    }

    func testPaddingDoesNotChangeRealPositions() {
        let encoder = BertEncoder(config: tiny)
        let g = Graph(parameters: tinyParameters(seed: 5), trainable: false)
        let alone = encoder(g, BertBatch([BertEncoding(inputIDs: [2, 8, 3], tokenTypeIDs: [0, 0, 0])]))                       // [1, 3, C]
        let padded = encoder(g, tinyBatch)                                          // [2, 5, C]
        let c = tiny.hiddenSize
        assertClose(Tensor(Array(padded.value.scalars[(5 * c)..<(8 * c)])), alone.value.reshaped([3 * c]), absolute: 1e-5)
        let pooledAlone = BertEncoder.meanPool(g, alone, mask: [1, 1, 1])
        let pooled = BertEncoder.meanPool(g, padded, mask: tinyBatch.attentionMask)
        assertClose(Tensor(Array(pooled.value.scalars[c..<(2 * c)])), pooledAlone.value.reshaped([c]), absolute: 1e-5)
    }

    func testLoadingIsStrict() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = try JSONEncoder().encode(tiny)
        try config.write(to: folder.appendingPathComponent("config.json"))
        let weights = folder.appendingPathComponent("model.safetensors")
        let params = tinyParameters(seed: 3)

        // The model's tensors plus the buffers Hugging Face files carry: loads, prefixed on request.
        var withExtras = params
        withExtras["embeddings.position_ids"] = Tensor(shape: [1, 7], scalars: (0..<7).map(Float.init))
        withExtras["pooler.dense.weight"] = Tensor(zeros: [8, 8])
        try SafeTensors.write(withExtras, to: weights)
        let (encoder, loaded) = try BertEncoder.loadPretrained(from: folder, prefix: "bert.")
        XCTAssertEqual(encoder.config, tiny)
        XCTAssertEqual(loaded.names, params.names.map { "bert." + $0 })
        XCTAssertEqual(loaded["bert.encoder.layer.1.output.dense.weight"], params["encoder.layer.1.output.dense.weight"])

        var missing = params
        missing["encoder.layer.1.output.LayerNorm.bias"] = nil
        missing["classifier.weight"] = Tensor(zeros: [3, 8])
        try SafeTensors.write(missing, to: weights)
        XCTAssertThrowsError(try BertEncoder.loadPretrained(from: folder)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing 'encoder.layer.1.output.LayerNorm.bias'"), text)
            XCTAssertTrue(text.contains("unexpected 'classifier.weight'"), text)
            XCTAssertTrue(text.contains("model.safetensors"), text)
        }

        var misshaped = params
        misshaped["embeddings.word_embeddings.weight"] = Tensor(zeros: [12, 8])
        try SafeTensors.write(misshaped, to: weights)
        XCTAssertThrowsError(try BertEncoder.loadPretrained(from: folder)) { error in
            XCTAssertTrue("\(error)".contains("has shape [12, 8], the model expects [11, 8]"), "\(error)")
        }

        var bad = tiny
        bad.hiddenActivation = "relu"
        try JSONEncoder().encode(bad).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try BertEncoder.loadPretrained(from: folder)) { error in
            XCTAssertTrue("\(error)".contains("hidden_act 'relu' unsupported"), "\(error)")
        }
    }
}
