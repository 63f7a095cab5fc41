import Foundation

// What a first-person clause says the speaker eats: no meat ("i am a vegan", "i do not eat meat") or meat ("i am an
// omnivore", "i only eat meat", "i love steak"). The two cannot both hold, and no template of one relation links
// "i am a vegan" to "i am an omnivore" or "i eat steak every day", so the persona NLI generator pairs stated diets
// directly: the same diet in other words entails, the other diet contradicts.

enum Diet: Equatable {
    case meatless, meatEating

    static let meatWords: Set<String> = ["meat", "meats", "steak", "steaks", "bacon", "burger", "burgers", "hamburger",
                                         "hamburgers", "beef", "pork", "sausage", "sausages", "ribs", "ham", "brisket",
                                         "bbq", "barbecue", "chicken", "turkey", "veal", "lamb"]
    static let meatlessWords: Set<String> = ["vegan", "vegans", "vegetarian", "vegetarians"]
    static let eatingVerbs: Set<String> = ["eat", "eating", "ate", "love", "like", "enjoy", "adore"]
    static let negations: Set<String> = ["not", "never", "no", "stopped", "quit", "gave"]

    /// The diet `words` (one normalised clause) states, or nil. Only the speaker's own present diet counts: "i was
    /// a vegetarian" and "i wish i was vegan" state none.
    static func of(_ w: [String]) -> Diet? {
        guard w.count >= 2, w[0] == "i" else { return nil }
        let negated = !Set(w).isDisjoint(with: negations)
        if w.contains(where: meatlessWords.contains) {
            guard ["am", "have", "became", "went"].contains(w[1]) else { return nil }
            return negated ? .meatEating : .meatless
        }
        if w[1] == "am", w.contains("omnivore") || w.contains("carnivore") || LifeStage.contains(w, ["meat", "eater"]) {
            return negated ? nil : .meatEating
        }
        // "i eat meat", "i only eat meat", "i love a good steak"; "i do not eat meat", "i stopped eating meat".
        guard let verb = w.prefix(4).firstIndex(where: eatingVerbs.contains),
              w[(verb + 1)...].prefix(4).contains(where: meatWords.contains) else { return nil }
        if !negated { return .meatEating }
        return ["eat", "eating", "ate"].contains(w[verb]) ? .meatless : nil   // "i don't like steak" is a taste, not a diet
    }

    /// Wordings of the diet (for pairs when the corpus has no real utterance of it).
    var wordings: [[String]] {
        switch self {
        case .meatless: return [["i", "do", "not", "eat", "meat"], ["i", "have", "been", "vegetarian", "for", "years"],
                                ["i", "am", "vegan"], ["i", "never", "eat", "meat"]]
        case .meatEating: return [["i", "eat", "steak", "every", "day"], ["i", "am", "an", "omnivore"],
                                  ["i", "love", "a", "good", "burger"], ["i", "eat", "meat", "with", "every", "meal"]]
        }
    }
}
