import Foundation

// The stage of life a first-person clause pins its speaker to: a stated age, school, retirement,
// grandchildren. Persona contradictions on real chit-chat are often of this kind ("i am a boy" against
// "healthy for a 40 year old car salesman", "i am 100 years old" against "i'm 24"), and no template of one
// relation covers them, so the persona NLI generator pairs sentences and utterances whose stages cannot
// both hold.

/// What a clause says about the speaker's age.
struct LifeStage: Equatable {
    enum Stage: Int { case child, adult, old }

    var stage: Stage
    /// The stated age, when a number was said.
    var age: Int?

    /// Stages that cannot describe one person. A stated age is read strictly (an adult of 18-24 may still be in
    /// school; a 60-year-old may have grandchildren), a marker loosely.
    func conflicts(with other: LifeStage) -> Bool {
        switch (stage, other.stage) {
        case (.child, .child), (.adult, .adult), (.old, .old): return false
        case (.child, .adult), (.adult, .child):
            let adult = stage == .adult ? self : other
            return (adult.age ?? 25) >= 25
        case (.child, .old), (.old, .child): return true
        case (.adult, .old), (.old, .adult):
            let (adult, old) = stage == .adult ? (self, other) : (other, self)
            // "i am retired" against "i am 34" is possible (the army retires early); "i am 100" is not.
            guard let young = adult.age else { return false }
            return young < (old.age != nil ? 40 : 30)
        }
    }

    static let childMarkers: [[String]] = [["i", "am", "a", "boy"], ["i", "am", "a", "teenager"], ["i", "am", "a", "teen"], ["i", "am", "in", "high", "school"],
                                           ["i", "am", "still", "in", "high", "school"], ["i", "am", "in", "middle", "school"],
                                           ["juvenile", "detention"], ["my", "parents", "will", "not", "let", "me"]]
    static let oldMarkers: [[String]] = [["i", "am", "retired"], ["i", "retired"], ["i", "am", "a", "grandmother"],
                                         ["i", "am", "a", "grandfather"], ["i", "am", "a", "grandma"], ["i", "am", "a", "grandpa"],
                                         ["i", "am", "a", "great", "grandmother"]]
    static let grandchildren: Set<String> = ["grandchildren", "grandkids", "grandson", "grandsons", "granddaughter", "granddaughters"]
    static let grades: Set<String> = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "1st",
                                      "2nd", "3rd", "4th", "5th", "6th", "7th", "8th"]
    /// Words that put someone other than the speaker in a clause.
    static let otherPeople: Set<String> = ["my", "his", "her", "he", "she", "they", "their", "you", "your", "we", "our", "met", "know"]
    /// Words after "i am <number>" that make the number something other than an age.
    static let notAge: Set<String> = ["minutes", "minute", "miles", "mile", "hours", "hour", "percent", "%", "dollars", "feet",
                                      "foot", "pounds", "lbs", "times", "days", "day", "weeks", "week", "months", "month",
                                      "inches", "degrees", "blocks", "kids", "children", "cats", "dogs", "of", "in", "on",
                                      "points", "credits", "hundred", "thousand", "am", "pm", "ft", "kg", "km", "cm"]

    /// The stage `words` (one normalised clause) states, or nil. Only first-person statements count.
    static func of(_ words: [String]) -> LifeStage? {
        if let age = statedAge(words) {
            return LifeStage(stage: age < 18 ? .child : age >= 65 ? .old : .adult, age: age)
        }
        if let at = words.firstIndex(of: "grade"), at > 0, grades.contains(words[at - 1]), words.contains("i"),
           Set(words).isDisjoint(with: otherPeople) {
            return LifeStage(stage: .child, age: nil)
        }
        if childMarkers.contains(where: { contains(words, $0) }) {
            return LifeStage(stage: .child, age: nil)
        }
        if oldMarkers.contains(where: { contains(words, $0) }) { return LifeStage(stage: .old, age: nil) }
        // Having grandchildren: "i have 2 grandkids", "my grandson", "10 grand children".
        let hasGrandchildren = words.indices.contains { grandchildren.contains(words[$0])
            || words[$0] == "grand" && $0 + 1 < words.count && ["children", "kids"].contains(words[$0 + 1]) }
        if hasGrandchildren, contains(words, ["i", "have"]) || words.contains("my") { return LifeStage(stage: .old, age: nil) }
        return nil
    }

    /// "i am 40", "i just turned 13", "i am 100 years old", "a 40 year old car salesman" (with "i am" before it).
    static func statedAge(_ words: [String]) -> Int? {
        func age(at index: Int) -> Int? {
            guard index < words.count, let n = Int(words[index]), (1...120).contains(n) else { return nil }
            return n
        }
        for index in words.indices {
            let rest = words[index...]
            if rest.starts(with: ["i", "am"]), let n = age(at: index + 2),
               index + 3 == words.count || !notAge.contains(words[index + 3]) { return n }
            if rest.starts(with: ["i", "just", "turned"]), let n = age(at: index + 3) { return n }
            if rest.starts(with: ["i", "turned"]), let n = age(at: index + 2) { return n }
            if rest.starts(with: ["i", "am", "a"]), let n = age(at: index + 3), index + 5 < words.count,
               words[index + 4] == "year", words[index + 5] == "old" { return n }
        }
        // "healthy for a 40 year old car salesman": an age phrase in a clause about no one else.
        if Set(words).isDisjoint(with: otherPeople) {
            for index in words.indices where index + 2 < words.count && words[index + 1] == "year" && words[index + 2] == "old" {
                if index > 0, words[index - 1] == "a", let n = age(at: index) { return n }
            }
        }
        return nil
    }

    static func contains(_ words: [String], _ phrase: [String]) -> Bool {
        guard phrase.count <= words.count else { return false }
        return (0...(words.count - phrase.count)).contains { Array(words[$0..<($0 + phrase.count)]) == phrase }
    }
}
