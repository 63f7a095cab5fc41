import Foundation
import XCTest
import Tensor
import Autograd
import NN
import TestSupport
@testable import Recommender

/// The paper-form MetaCRS pieces: the network without our memory features, the information-gain explorer
/// and its identification loss, h_e handed to the task policy, the Global+memory control and model selection.
final class PaperFormTests: XCTestCase {
    private func config(paper: Bool) -> CRSTrainingConfig {
        var c = CRSTrainingConfig()
        c.model.embedding = 6
        c.model.width = 8
        c.model.hidden = 6
        c.model.heads = 2
        c.model.listSize = 2
        c.model.itemActions = 6
        c.explorationEpisodes = 1
        c.adaptationEpisodes = 2
        c.adaptationChunk = 1
        c.queryEpisodes = 2
        c.usersPerMetaEpoch = 2
        c.globalBatch = 3
        return paper ? c.paperForm : c
    }

    private func engine(paper: Bool) throws -> MetaCRS {
        let d = try CRSDataset.load(directory: CRSFixture.write(["user_train.json": "[0, 1]", "user_valid.json": "[2]", "user_test.json": "[]"]))
        var rng = SeededGenerator(seed: 3)
        let e = CRSEmbeddings(item: Tensor.randomNormal([d.itemCount, 6], using: &rng),
                              attribute: Tensor.randomNormal([d.attributeCount, 6], using: &rng),
                              user: Tensor.randomNormal([d.userCount, 6], using: &rng))
        let sim = UserSimulator(dataset: d, source: .observed, maxTurns: 4, opensWithAttribute: false)
        return MetaCRS(simulator: sim, embeddings: e, config: config(paper: paper))
    }

    func testPaperNetworkHasNoMemoryFeatures() throws {
        let m = try engine(paper: true)
        let p = m.initialParameters(.metacrs)
        XCTAssertNil(p["task.repeatBonus"])
        // GRU input z only [C]; state [z; h] = C + H.
        XCTAssertEqual(p.require("task.gru.weight_ih").shape[1], 8)
        XCTAssertEqual(p.require("task.recommender.weight").shape[1], 8 + 6)
        // m and the revealed item change nothing in the paper form.
        var memory = UserMemory(config: m.config.model)
        let g = Graph(parameters: p, trainable: false)
        let state = m.simulator.start(CRSSession(user: 0, target: 3, opening: nil))
        let plain = m.task(g, state: state, simulator: m.simulator, embeddings: m.embeddings,
                           hidden: g.constant(Tensor(zeros: [1, 6])), memory: memory, lastRejected: [])
        memory.accept(1, embedding: [1, 2, 3, 4, 5, 6])
        let remembered = m.task(g, state: state, simulator: m.simulator, embeddings: m.embeddings,
                                hidden: g.constant(Tensor(zeros: [1, 6])), memory: memory, lastRejected: [])
        XCTAssertEqual(plain.scores.value, remembered.scores.value)
        XCTAssertEqual(plain.logits.value, remembered.logits.value)
        // Ours does see them.
        let o = try engine(paper: false)
        let q = o.initialParameters(.metacrs)
        XCTAssertEqual(q.require("task.gru.weight_ih").shape[1], 8 + 6)
        XCTAssertNotNil(q["task.repeatBonus"])
    }

    func testOldCheckpointConfigsDecodeAsOurs() throws {
        // A config.json written before the switches existed.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(CRSTrainingConfig())) as? [String: Any])
        var model = try XCTUnwrap(object["model"] as? [String: Any])
        for key in ["meanAccepted", "repeatBonus", "revealInput"] { XCTAssertNotNil(model.removeValue(forKey: key)) }
        object["model"] = model
        for key in ["explorerReward", "identificationWeight", "handOffExplorerState"] { XCTAssertNotNil(object.removeValue(forKey: key)) }
        let json = try JSONSerialization.data(withJSONObject: object)
        let decoded = try JSONDecoder().decode(CRSTrainingConfig.self, from: json)
        XCTAssertEqual(decoded, CRSTrainingConfig())
        let paper = CRSTrainingConfig().paperForm
        XCTAssertEqual(try JSONDecoder().decode(CRSTrainingConfig.self, from: try JSONEncoder().encode(paper)), paper)
    }

    func testInformationGainRewardsTelescopeToTheIdentificationGain() throws {
        let m = try engine(paper: true)
        let p = m.initialParameters(.metacrs)
        let identifier = try XCTUnwrap(m.identifier)
        XCTAssertEqual(identifier.rows.count, 2)
        let g = Graph(parameters: p, trainable: true)
        var hidden = g.constant(Tensor(shape: [1, 6], scalars: [0.2, -0.1, 0.3, 0, 0.1, 0.4]))
        var memory = UserMemory(config: m.config.model)
        var rng = SeededGenerator(seed: 2)
        let session = CRSSession(user: 1, target: 4, opening: nil)
        let trace = m.explorer.play(g, session: session, simulator: m.simulator, embeddings: m.embeddings, hidden: &hidden,
                                    memory: &memory, acting: .sample, reward: .informationGain, identifier: identifier, rng: &rng)
        // One identification term per GRU state: every turn's plus the state after the last answer.
        XCTAssertEqual(trace.identificationLoss.count, trace.rewards.count + 1)
        let logP = trace.identificationLoss.map { -$0.value.scalars[0] }
        XCTAssertEqual(trace.rewards.reduce(0, +), logP.last! - logP.first!, accuracy: 1e-5)
        for t in trace.rewards.indices { XCTAssertEqual(trace.rewards[t], logP[t + 1] - logP[t], accuracy: 1e-6) }
        // The hidden state handed on is the one after the last answer, scored by hand: log softmax(h . E)[row].
        let h = hidden.value.scalars, row = identifier.rows[1]!
        let scores = (0..<identifier.rows.count).map { r in (0..<6).reduce(Float(0)) { $0 + h[$1] * identifier.table.scalars[r * 6 + $1] } }
        let logZ = log(scores.map { exp($0) }.reduce(0, +))
        XCTAssertEqual(logP.last!, scores[row] - logZ, accuracy: 1e-5)
    }

    func testIdentificationLossGradients() throws {
        let m = try engine(paper: true)
        let p = m.initialParameters(.metacrs)
        let identifier = try XCTUnwrap(m.identifier)
        var state = m.simulator.start(CRSSession(user: 0, target: 3, opening: nil))
        _ = m.simulator.step(.ask(attribute: 0), state: &state)
        let result = checkGradients(parameters: p, step: 2e-3, perTensor: 2) { g in
            let h = m.explorer.recurrent(g, state: state, simulator: m.simulator, embeddings: m.embeddings,
                                         hidden: g.constant(Tensor(shape: [1, 6], scalars: [0.1, 0.2, -0.3, 0.1, 0, 0.2])),
                                         memory: UserMemory(config: m.config.model), lastRejected: []).hidden
            return identifier.loss(g, hidden: h, row: identifier.rows[0]!)
        }
        XCTAssertLessThan(result.worstRelativeError, 1e-2, "\(result)")
        XCTAssertGreaterThan(result.checkedElements, 10)
    }

    func testExplorerStateIsHandedOnOnlyInThePaperForm() throws {
        for paper in [true, false] {
            let m = try engine(paper: paper)
            let p = m.initialParameters(.metacrs)
            let explored = m.adapt(p, user: 0, seed: 5, protocol: CRSProtocol(explore: true), training: false)
            let energy = explored.memory.hidden.scalars.map { abs($0) }.reduce(0, +)
            if paper { XCTAssertGreaterThan(energy, 0) } else { XCTAssertEqual(energy, 0) }
        }
    }

    func testGlobalMemoryTrainsTheRepeatBonus() throws {
        let m = try engine(paper: false)
        let p = m.initialParameters(.globalMemory)
        XCTAssertNil(p["explorer.gru.weight_ih"])
        // Users 0 and 1 accept items in early episodes, so β has evidence in later ones and gets a gradient.
        let out = m.trainingGradient(p, learner: .globalMemory, users: [0, 1], seed: 3)
        XCTAssertEqual(out.traces.count, 2 * (m.config.adaptationEpisodes + m.config.queryEpisodes))
        XCTAssertTrue(out.traces.contains { $0.succeeded })
        XCTAssertNotEqual(out.gradients.require("task.repeatBonus").scalars[0], 0)
        XCTAssertTrue(out.loss.isFinite)
    }

    func testSelectionKeepsTheValidationBest() throws {
        let m = try engine(paper: true)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crs-select-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let selection = CRSSelection(users: [2], every: 1, seed: 1, evaluation: CRSProtocol(explore: true, adaptationEpisodes: 2,
                                     adaptSteps: true, stepEvery: 1), threads: 1)
        var lines: [String] = []
        let best = try m.trainOrResume(.metacrs, steps: 3, folder: folder, dataset: "tiny", selection: selection) { lines.append($0) }
        let saved = try MetaCRS.loadPolicy(from: folder.appendingPathComponent("best"))
        XCTAssertEqual(best, saved.parameters)
        let scores = lines.filter { $0.contains("validation SR@10") }
        XCTAssertEqual(scores.count, 3)
        // The saved step's score is the highest logged (first best on ties).
        let values = scores.compactMap { line in line.split(separator: " ").firstIndex(of: "SR@10").map { Double(line.split(separator: " ")[$0 + 1])! } }
        XCTAssertEqual(Double(saved.metadata["validationSR"]!)!, values.max()!, accuracy: 1e-4)
        XCTAssertEqual(saved.step, values.firstIndex(of: values.max()!)! + 1)
        // Loading the finished run returns the best again.
        XCTAssertEqual(try m.trainOrResume(.metacrs, steps: 3, folder: folder, dataset: "tiny", selection: selection) { _ in }, best)
    }

    /// Users whose answers are all flipped filter their own targets out: the policy runs out of actions, and the
    /// session ends as a failure instead of trapping.
    func testAPolicyWithNothingLeftToDoEndsTheSession() throws {
        let m = try engine(paper: false)
        var noisy = m.simulator
        noisy.userModel = CRSUserModel(answerNoise: 1)
        let engine = MetaCRS(simulator: noisy, embeddings: m.embeddings, config: m.config)
        let p = engine.initialParameters(.metacrs)
        var emptied = 0
        for seed in 0..<30 {
            let metrics = engine.evaluate(p, users: [0, 1], seed: UInt64(seed), protocol: engine.testProtocol(.metacrs))
            XCTAssertEqual(metrics.episodes, 2 * engine.config.queryEpisodes)
            emptied += metrics.episodes - metrics.successes
        }
        XCTAssertGreaterThan(emptied, 0)
    }
}
