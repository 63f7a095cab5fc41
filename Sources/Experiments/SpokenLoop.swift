import Dialogue
import Foundation
import Metrics
import NLI
import Recommender
import SpokenRecommender
import Tensor
import Text

/// Settings of `paml recommend language-loop`: the learned policy's sessions on symbols and fully in words.
public struct SpokenLoopConfig: Codable, Sendable {
    public var data: String
    /// A learned policy checkpoint of lastfm (its FM embeddings next to it in ../fm).
    public var policy: String
    /// Realisers to compare: speaker or action-language checkpoints, or "templates".
    public var realisers: [String]
    /// A voice file the speakers adapt to first (nil: none).
    public var voice: String?
    /// NLI checkpoint and MiniLM folder of the reply reader (nil: rules only).
    public var nliCheckpoint: String?
    public var minilm: String?
    public var sessions = 1_000
    public var maxTurns = 10
    public var seed: UInt64 = 7
    public var resamples = 10_000

    public init(data: String, policy: String, realisers: [String]) {
        (self.data, self.policy, self.realisers) = (data, policy, realisers)
    }

    public func validate() throws {
        guard !realisers.isEmpty else { throw ConfigError(field: "realisers", value: "[]", allowed: "one or more") }
        try Check.within(sessions, 1...1_000_000, "sessions")
        try Check.within(maxTurns, 1...100, "maxTurns")
        try Check.within(resamples, 2...1_000_000, "resamples")
    }
}

public struct SpokenLoopRow: Codable, Sendable {
    public var condition: String
    public var successRate: BootstrapInterval
    public var averageTurns: BootstrapInterval
    /// Replies the reader read as the user meant them, and system sentences that carried their names.
    public var understood: Double
    public var heard: Double
    /// Mean words per system sentence (without the "Would you like to listen ...?" the session adds): a speaker that
    /// drifts into chit-chat says long sentences.
    public var meanWords: Double
    /// Against symbols, paired over the same sessions.
    public var successDifference: BootstrapInterval?
    public var turnsDifference: BootstrapInterval?
}

public struct SpokenLoopReport: Codable, Sendable {
    public var command: String
    public var config: SpokenLoopConfig
    public var rows: [SpokenLoopRow]
    public var transcripts: [String]
}

/// The cost of language as a number: the same test-user sessions of the learned policy (a cold-start user: no
/// exploration or adaptation episodes) on symbols and in words (`SpokenRecommender.session`).
public struct SpokenLoop {
    public var config: SpokenLoopConfig
    public init(config: SpokenLoopConfig) { self.config = config }

    public func run(command: String, log: (String) -> Void) throws -> SpokenLoopReport {
        try config.validate()
        let d = try CRSDataset.load(directory: CorpusRoot(explicit: config.data).file("crs/lastfm"))
        let simulator = UserSimulator(dataset: d, source: .sampled, maxTurns: config.maxTurns, itemOrder: d.popularityOrder(users: d.trainUsers))
        let policy = try LearnedConversationPolicy(checkpoint: URL(fileURLWithPath: config.policy), dataset: d, log: log)
        var reader = ReplyReader()
        if let nli = config.nliCheckpoint, let minilm = config.minilm {
            reader = ReplyReader(nli: try NLIModel(checkpoint: URL(fileURLWithPath: nli), pretrained: URL(fileURLWithPath: minilm)))
        }
        let replies = WordedAnswers(reader: reader, dataset: d)
        var sessionRNG: [SeededGenerator] = []
        var sessions: [CRSSession] = []
        for index in 0..<config.sessions {
            var rng = UserSimulator.episodeGenerator(seed: config.seed, index: index)
            sessions.append(simulator.drawSession(users: d.testUsers, index: index, using: &rng))
            sessionRNG.append(rng)
        }
        var conditions: [(name: String, realiser: ActionRealiser?, inWords: Bool)] = [("symbols", nil, false)]
        for path in config.realisers {
            if path == "templates" { conditions.append(("words: templates", nil, true)); continue }
            let checkpoint = try DialogueCheckpoint(folder: URL(fileURLWithPath: path))
            let speaker = checkpoint.metadata[SpeakerPrompt.metadataKey] == SpeakerPrompt.metadataValue
            let realiser = try ActionRealiser(checkpoint: checkpoint, strategy: .topK(k: 3, temperature: 0.5), style: nil, styleSteps: 0,
                                              styleLearningRate: 0, voice: speaker ? config.voice.map { URL(fileURLWithPath: $0) } : nil,
                                              dataset: d, log: log)
            let name = URL(fileURLWithPath: path).lastPathComponent
            conditions.append(("words: \(name)\(speaker && config.voice != nil ? " (voice \(URL(fileURLWithPath: config.voice!).deletingPathExtension().lastPathComponent))" : "")", realiser, true))
        }
        var rows: [SpokenLoopRow] = []
        var symbols: (success: RatioSample, turns: RatioSample)?
        var transcripts: [String] = []
        for condition in conditions {
            let speaker = SpokenRecommender(simulator: simulator, policy: policy, realiser: condition.realiser, reader: reader)
            var success: [Double] = [], turns: [Double] = []
            var understood = 0, heard = 0, replyCount = 0, words = 0
            let start = Date()
            for (index, session) in sessions.enumerated() {
                var rng = sessionRNG[index]
                let episode = speaker.session(session, inWords: condition.inWords, replies: replies, rng: &rng, seed: config.seed &+ UInt64(index))
                success.append(episode.succeeded ? 1 : 0)
                turns.append(Double(episode.turns.count))
                understood += episode.understood
                heard += episode.turns.filter { $0.user != SpokenRecommender.confusedReply }.count
                replyCount += episode.turns.count
                words += episode.turns.reduce(0) { total, turn in
                    let said = turn.system.components(separatedBy: " Would you like to listen to")[0]
                    return total + said.split(separator: " ").count
                }
                if condition.inWords && index < 2 { transcripts.append("[\(condition.name)]\n" + speaker.transcript(episode, session: session)) }
            }
            let ones = [Double](repeating: 1, count: sessions.count)
            let s = RatioSample(numerators: success, denominators: ones), t = RatioSample(numerators: turns, denominators: ones)
            var row = SpokenLoopRow(condition: condition.name, successRate: Bootstrap.ratio(s, resamples: config.resamples, seed: config.seed),
                                    averageTurns: Bootstrap.ratio(t, resamples: config.resamples, seed: config.seed),
                                    understood: Double(understood) / Double(max(replyCount, 1)), heard: Double(heard) / Double(max(replyCount, 1)),
                                    meanWords: Double(words) / Double(max(replyCount, 1)))
            if let symbols {
                row.successDifference = Bootstrap.pairedDifference(s, symbols.success, resamples: config.resamples, seed: config.seed)
                row.turnsDifference = Bootstrap.pairedDifference(t, symbols.turns, resamples: config.resamples, seed: config.seed)
            } else {
                symbols = (s, t)
            }
            log(String(format: "%@: SR@%d %.3f [%.3f, %.3f], AT %.2f; replies understood %.3f, sentences heard %.3f (%.0f s)",
                       condition.name, config.maxTurns, row.successRate.estimate, row.successRate.lower, row.successRate.upper,
                       row.averageTurns.estimate, row.understood, row.heard, Date().timeIntervalSince(start)))
            rows.append(row)
        }
        return SpokenLoopReport(command: command, config: config, rows: rows, transcripts: transcripts)
    }

    public static func markdown(_ report: SpokenLoopReport) -> String {
        var lines = ["| condition | SR@\(report.config.maxTurns) [95%] | AT [95%] | words − symbols: SR | AT | replies understood | sentences heard | words per sentence |",
                     "|---|---|---|---|---|---|---|---|"]
        func f(_ i: BootstrapInterval, _ digits: Int) -> String {
            String(format: "%.\(digits)f [%.\(digits)f, %.\(digits)f]", i.estimate, i.lower, i.upper)
        }
        func signed(_ i: BootstrapInterval?, _ digits: Int) -> String {
            guard let i else { return "" }
            return String(format: "%+.\(digits)f [%+.\(digits)f, %+.\(digits)f]", i.estimate, i.lower, i.upper)
        }
        for row in report.rows {
            lines.append("| \(row.condition) | \(f(row.successRate, 3)) | \(f(row.averageTurns, 2)) | \(signed(row.successDifference, 3)) | "
                         + "\(signed(row.turnsDifference, 2)) | \(String(format: "%.3f", row.understood)) | \(String(format: "%.3f", row.heard)) | "
                         + "\(String(format: "%.1f", row.meanWords)) |")
        }
        return lines.joined(separator: "\n")
    }
}
