import Foundation

/// A few dialogues of one persona, the input of k-shot adaptation (`paml chat/generate/adapt --persona`):
/// - JSONL (`.jsonl` / `.json`, any case): one dialogue a line,
///   `{"persona": ["i like cats."], "pairs": [["hi!", "hello, i have two cats."], ...]}`; each pair is
///   [partner's turn, the persona's answer]; "persona" is optional on all but one line.
/// - ConvAI2 text (anything else): `N your persona: ...` lines, then `N partner<TAB>answer` lines;
///   "partner's persona:" lines are read and ignored.
/// Every problem is reported as file:line: what is wrong. Sizes are bounded (`Limits`) so that a runaway
/// file is an error rather than minutes of quadratic work on ever-longer histories.
public struct PersonaDialogueFile: Sendable {
    public struct Limits: Sendable {
        public var dialogues = 200
        public var turnsPerDialogue = 100
        public var charactersPerTurn = 2_000
        public var personaSentences = 50
        public init() {}
    }

    public var persona: [String]
    public var examples: [PersonaExample]
    public var dialogues: Int

    public init(url: URL, limits: Limits = Limits()) throws {
        let path = url.path
        var episodes: [(persona: [String], pairs: [(String, String)], line: Int)] = []
        if TextFile.hasExtension(url, ["jsonl", "json"]) {
            for (index, line) in TextFile.lines(try TextFile.string(url)).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let number = index + 1
                func fail(_ problem: String) -> TextError { TextError(file: path, line: number, problem) }
                let parsed: Any
                do { parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) } catch {
                    throw fail("not valid JSON (\((error as NSError).userInfo["NSDebugDescription"] as? String ?? "syntax error"))")
                }
                guard let object = parsed as? [String: Any] else { throw fail("expected a JSON object {\"persona\": [...], \"pairs\": [...]}") }
                let unknown = Set(object.keys).subtracting(["persona", "pairs"])
                guard unknown.isEmpty else { throw fail("unknown key(s) \(unknown.sorted()); expected \"persona\" and \"pairs\"") }
                var persona: [String] = []
                if let value = object["persona"] {
                    guard let sentences = value as? [String] else { throw fail("\"persona\" must be a list of sentences (strings)") }
                    persona = sentences
                }
                guard let value = object["pairs"] else { throw fail("missing \"pairs\": [[partner's turn, answer], ...]") }
                guard let list = value as? [Any] else { throw fail("\"pairs\" must be a list of [partner's turn, answer]") }
                guard !list.isEmpty else { throw fail("\"pairs\" is empty; a dialogue needs at least one [partner's turn, answer]") }
                var pairs: [(String, String)] = []
                for (i, item) in list.enumerated() {
                    guard let pair = item as? [Any], pair.count == 2, let partner = pair[0] as? String, let answer = pair[1] as? String else {
                        throw fail("pairs[\(i)] must be two strings [partner's turn, answer]")
                    }
                    pairs.append((partner, answer))
                }
                episodes.append((persona, pairs, number))
            }
        } else {
            episodes = try ConvAI2.readEpisodes(url, personaPrefix: "your persona:").map { episode in
                (episode.persona, episode.pairs.map { ($0.utterance, $0.response) }, episode.line)
            }
        }
        guard !episodes.isEmpty else { throw TextError(file: path, "no dialogues found") }
        guard episodes.count <= limits.dialogues else {
            throw TextError(file: path, "\(episodes.count) dialogues; at most \(limits.dialogues) are read for adaptation")
        }
        for episode in episodes {
            guard episode.pairs.count <= limits.turnsPerDialogue else {
                throw TextError(file: path, line: episode.line, "dialogue of \(episode.pairs.count) turns; at most \(limits.turnsPerDialogue)")
            }
            guard episode.persona.count <= limits.personaSentences else {
                throw TextError(file: path, line: episode.line, "\(episode.persona.count) persona sentences; at most \(limits.personaSentences)")
            }
            for (partner, answer) in episode.pairs {
                for text in [partner, answer] + episode.persona where text.count > limits.charactersPerTurn {
                    throw TextError(file: path, line: episode.line, "a turn of \(text.count) characters; at most \(limits.charactersPerTurn)")
                }
            }
            guard episode.pairs.contains(where: { !$0.1.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw TextError(file: path, line: episode.line, "every answer of this dialogue is empty")
            }
        }
        persona = episodes.first { !$0.persona.isEmpty }?.persona ?? []
        dialogues = episodes.count
        examples = episodes.flatMap { episode -> [PersonaExample] in
            var history: [String] = []
            return episode.pairs.map { partner, answer in
                history.append(partner)
                defer { history.append(answer) }
                return PersonaExample(persona: episode.persona, history: history, response: answer)
            }
        }
    }
}
