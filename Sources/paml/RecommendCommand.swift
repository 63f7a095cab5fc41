import ArgumentParser
import Recommender

/// `paml recommend ...`: the conversational recommender.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Conversational recommendation: user simulator and policies (MetaCRS data).",
        discussion: """
        `paml recommend --interactive` (the default subcommand, `interactive`) lets a person chat with the \
        recommender on lastfm: it asks and recommends in words with real attribute and artist names and reads \
        yes/no replies from standard input (scriptable: printf 'I like rock\\nyes\\nno\\n' | paml recommend --interactive).
        """,
        subcommands: [RecommendSimulate.self, RecommendTrain.self, RecommendExperiment.self, RecommendInteractive.self, RecommendTrainLanguage.self, RecommendMakeVoices.self, RecommendTrainSpeaker.self, RecommendVoices.self, RecommendLanguageLoop.self,
                      RecommendRender.self, RecommendReadReplies.self],
        defaultSubcommand: RecommendInteractive.self
    )
}

extension CRSSplit: ExpressibleByArgument {}

extension CRSDatasetName: ExpressibleByArgument {}

extension CRSInteractionSource: ExpressibleByArgument {}
