import ArgumentParser
import Foundation
import Recommender
import SpokenRecommender

/// `paml recommend simulate`: run a rule policy against the user simulator and report SR@10 and AT.
struct RecommendSimulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate conversations with a rule policy (maxent or random); prints SR@10, AT, episodes/s."
    )

    enum Policy: String, ExpressibleByArgument, CaseIterable { case maxent, random }
    enum Ranking: String, ExpressibleByArgument, CaseIterable { case popularity, id }

    @OptionGroup var data: DataOptions
    @Option(help: "lastfm, book or movie (a folder under <data>/crs).") var dataset: CRSDatasetName = .lastfm
    @Option(help: "maxent (max-entropy asks, MaxE) or random.") var policy: Policy = .maxent
    @Option(help: "Number of episodes.") var episodes = 10_000
    @Option(help: "Seed: episode i draws its user, target and choices from (seed, i).") var seed: UInt64 = 1
    @Option(help: "Users the sessions are drawn from: train, valid or test.") var split: CRSSplit = .test
    @Option(help: "Target items from `sampled` (interaction.csv, MetaCRS protocol) or `observed` (user_item.json).")
    var interactions: CRSInteractionSource = .sampled
    @Option(help: "Candidate order for recommendations: popularity (among training users) or id.")
    var ranking: Ranking = .popularity
    @Option(help: "Maximum turns T.") var maxTurns = 10
    @Flag(help: "Start sessions without the user's opening attribute.") var noOpening = false
    @Option(help: "Print this many example sessions (with names on lastfm).") var transcripts = 0
    @Flag(help: "Print the transcripts in words: the action-language model speaks, simulated replies are read back.")
    var language = false
    @OptionGroup var speech: SpeechOptions

    func validate() throws {
        try OptionCheck.within(episodes, 1...100_000_000, "--episodes")
        try OptionCheck.within(maxTurns, 1...100, "--max-turns")
        try OptionCheck.within(transcripts, 0...100_000, "--transcripts")
    }

    func run() throws {
        let folder = data.corpusRoot.file("crs/\(dataset.rawValue)")
        let d = try CRSDataset.load(directory: folder)
        print("\(dataset.rawValue): \(d.statistics)")
        let order = ranking == .popularity ? d.popularityOrder(users: d.trainUsers) : nil
        let simulator = UserSimulator(dataset: d, source: interactions, maxTurns: maxTurns,
                                      opensWithAttribute: !noOpening, itemOrder: order)
        let users = d.users(split)
        let start = Date()
        let metrics: CRSMetrics
        switch policy {
        case .maxent: metrics = simulator.evaluate(MaxEntropyPolicy(), users: users, episodes: episodes, seed: seed)
        case .random: metrics = simulator.evaluate(RandomPolicy(), users: users, episodes: episodes, seed: seed)
        }
        let seconds = Date().timeIntervalSince(start)
        let (sr, at, reward) = metrics.measure()
        print("policy \(policy.rawValue)  split \(split.rawValue) (\(users.count) users)  episodes \(episodes)  seed \(seed)")
        print(String(format: "SR@10 %.4f  AT %.3f  mean return %.3f  (%.0f episodes/s, %.2fs)",
                     sr, at, reward, Double(episodes) / seconds, seconds))
        let rule: any CRSPolicy = policy == .maxent ? MaxEntropyPolicy() : RandomPolicy()
        let speaker = language ? SpokenRecommender(simulator: simulator, policy: rule, realiser: try speech.realiser(dataset: simulator.dataset),
                                                   reader: try speech.reader()) : nil
        let examples = simulator.exampleTranscripts(rule, speaker: speaker, users: users, count: min(transcripts, episodes), seed: seed)
        for (index, text) in examples.transcripts.enumerated() { print("\nepisode \(index): " + text) }
        if speaker != nil { print("\nreply reader agreed with the simulated user on \(examples.understood)/\(examples.replies) replies") }
    }
}
