import ArgumentParser
import Foundation
import Recommender
import SpokenRecommender

/// `paml recommend interactive` (also `paml recommend --interactive`): a person chats with the recommender.
struct RecommendInteractive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interactive",
        abstract: "Chat with the recommender on lastfm: it asks about genres and eras and suggests artists; answer in words.",
        discussion: """
        Also started as `paml recommend --interactive`. Lines are read from standard input, so a session can be \
        scripted: printf 'I like rock\\nyes\\nno\\n' | paml recommend --interactive. The shipped MetaCRS policy \
        (Checkpoints/crs-lastfm/metacrs) chooses each action, the action-language model says it with real attribute \
        and artist names, and each reply is read as yes/no (rules, then the NLI model). An attribute you say no to \
        is left out; "any recommendations?" gets one at once. An empty line or the end of input ends the session. \
        --max-entropy uses the max-entropy rule instead (asks until few artists are left).
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Flag(help: "Chat in the terminal (the default action of `paml recommend`).") var interactive = false
    @Option(help: "Maximum turns T (1...100).") var maxTurns = 10
    @Option(help: "Seed of sentence sampling.") var seed: UInt64 = 1

    func validate() throws { try OptionCheck.within(maxTurns, 1...100, "--max-turns") }
    @Option(help: "The learned policy checkpoint (paml recommend train); its FM embeddings are read from ../fm next to it.")
    var policyCheckpoint = "Checkpoints/crs-lastfm/metacrs"
    @Flag(help: "Use the max-entropy rule instead of the learned policy.") var maxEntropy = false

    /// The task network of the learned checkpoint acting greedily for a new user, or MaxE.
    func policy(_ simulator: UserSimulator) throws -> any ConversationPolicy {
        if maxEntropy { return RuleConversationPolicy(MaxEntropyPolicy()) }
        return try LearnedConversationPolicy(checkpoint: resolvedInput(policyCheckpoint), dataset: simulator.dataset,
                                             log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    }

    /// One session reading lines from `input` and writing to `output`.
    func converse(input: () -> String?, output: (String) -> Void) throws -> SpokenEpisode {
        let simulator = try loadSimulator(data, dataset: "lastfm", maxTurns: maxTurns)
        let speaker = SpokenRecommender(simulator: simulator, policy: try policy(simulator),
                                        realiser: try speech.realiser(dataset: simulator.dataset), reader: try speech.reader())
        return speaker.interactive(seed: seed, input: input, output: output)
    }

    func run() throws {
        _ = try converse(input: {
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            return line
        }, output: { line in
            print(line)
            fflush(stdout)
        })
    }
}
