import Foundation

/// One utterance of a two-party dialogue. Speaker 0 speaks first in the file's order.
public struct Utterance: Equatable, Sendable {
    public var speaker: Int
    public var text: String
    public init(speaker: Int, text: String) {
        self.speaker = speaker
        self.text = text
    }
}

/// A two-party dialogue with each speaker's persona (a list of sentences, as written in the source).
public struct PersonaDialogue: Equatable, Sendable {
    /// Which corpus and split it came from, e.g. "convai2-valid", "spc-test".
    public var source: String
    /// Unique within `source`: the 1-based position of the dialogue in its file.
    public var index: Int
    /// personas[s] = speaker s's persona sentences.
    public var personas: [[String]]
    public var turns: [Utterance]

    public init(source: String, index: Int, personas: [[String]], turns: [Utterance]) {
        self.source = source
        self.index = index
        self.personas = personas
        self.turns = turns
    }
}

/// ConvAI2 / Persona-Chat in ParlAI's text format.
///
/// Each episode restarts its line numbers at 1: `N your persona: <sentence>` lines (or `N partner's
/// persona: ...` in the *_other_* files) followed by `N <utterance>\t<response>` lines. The speaker whose
/// persona a *_self_* file gives says the responses (speaker 1 here); the partner (speaker 0) says the
/// utterances. The *_other_* file holds the same dialogues with the partner's persona, so reading both gives
/// both speakers' personas. A `__SILENCE__` utterance (the persona speaker opens) is dropped.
public enum ConvAI2 {
    public struct Episode: Equatable, Sendable {
        public var persona: [String]
        /// The other speaker's persona lines, when the file has them (ParlAI's "both" files).
        public var partnerPersona: [String] = []
        public var pairs: [(utterance: String, response: String)]
        /// Line of the episode's first line in its file.
        public var line: Int
        public static func == (a: Episode, b: Episode) -> Bool {
            a.persona == b.persona && a.line == b.line && a.pairs.map(\.utterance) == b.pairs.map(\.utterance)
                && a.pairs.map(\.response) == b.pairs.map(\.response)
        }
    }

    /// Episodes of one file; `personaPrefix` is "your persona:" or "partner's persona:".
    /// Errors (file:line): missing or non-numeric line number, numbers that do not count up from 1,
    /// a persona line after dialogue lines, a dialogue line without a tab, an episode without dialogue.
    /// Reads the episodes of a ParlAI text file. Lines starting with `personaPrefix` are the persona; the
    /// other persona prefix ("your persona:" / "partner's persona:") fills `partnerPersona`.
    public static func readEpisodes(_ url: URL, personaPrefix: String) throws -> [Episode] {
        let name = url.path
        let text = try TextFile.string(url)
        let partnerPrefix = personaPrefix == "your persona:" ? "partner's persona:" : "your persona:"
        var episodes: [Episode] = []
        var current: Episode?
        var expected = 1
        func finish() throws {
            guard let episode = current else { return }
            if episode.pairs.isEmpty { throw TextError(file: name, line: episode.line, "episode has no dialogue lines") }
            episodes.append(episode)
        }
        var lineNumber = 0
        for line in TextFile.lines(text) {
            lineNumber += 1
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let space = line.firstIndex(of: " "), let n = Int(line[..<space]) else {
                throw TextError(file: name, line: lineNumber, "expected '<number> <text>', found \(String(line.prefix(40)).debugDescription)")
            }
            let content = line[line.index(after: space)...]
            if n == 1 {
                try finish()
                current = Episode(persona: [], pairs: [], line: lineNumber)
                expected = 1
            }
            guard n == expected, current != nil else {
                throw TextError(file: name, line: lineNumber, "line number \(n), expected \(current == nil ? 1 : expected)")
            }
            expected += 1
            if content.hasPrefix(personaPrefix) {
                guard current!.pairs.isEmpty else { throw TextError(file: name, line: lineNumber, "persona line after dialogue lines") }
                current!.persona.append(content.dropFirst(personaPrefix.count).trimmingCharacters(in: .whitespaces))
            } else if content.hasPrefix(partnerPrefix) {
                guard current!.pairs.isEmpty else { throw TextError(file: name, line: lineNumber, "persona line after dialogue lines") }
                current!.partnerPersona.append(content.dropFirst(partnerPrefix.count).trimmingCharacters(in: .whitespaces))
            } else {
                let parts = content.split(separator: "\t", omittingEmptySubsequences: false)
                guard parts.count >= 2 else {
                    throw TextError(file: name, line: lineNumber, "dialogue line without a tab between utterance and response")
                }
                // Files with candidates add `\t\t<candidates>` fields; the first two are utterance and response.
                current!.pairs.append((String(parts[0]), String(parts[1])))
            }
        }
        try finish()
        return episodes
    }

    /// Dialogues from a *_self_* file and its *_other_* twin: speaker 0 = partner (persona from `other`),
    /// speaker 1 = self (persona from `self`). The turns come from the self file. The two files must hold
    /// the same number of episodes with the same number of turns.
    public static func read(selfFile: URL, otherFile: URL, source: String) throws -> [PersonaDialogue] {
        let mine = try readEpisodes(selfFile, personaPrefix: "your persona:")
        let theirs = try readEpisodes(otherFile, personaPrefix: "partner's persona:")
        guard mine.count == theirs.count else {
            throw TextError(file: otherFile.path, "\(theirs.count) episodes but \(selfFile.lastPathComponent) has \(mine.count)")
        }
        return try zip(mine, theirs).enumerated().map { index, pair in
            let (a, b) = pair
            guard a.pairs.count == b.pairs.count else {
                throw TextError(file: otherFile.path, line: b.line, "episode has \(b.pairs.count) turns but line \(a.line) of \(selfFile.lastPathComponent) has \(a.pairs.count)")
            }
            var turns: [Utterance] = []
            for (utterance, response) in a.pairs {
                if utterance != "__SILENCE__" { turns.append(Utterance(speaker: 0, text: utterance)) }
                turns.append(Utterance(speaker: 1, text: response))
            }
            return PersonaDialogue(source: source, index: index + 1, personas: [b.persona, a.persona], turns: turns)
        }
    }
}
