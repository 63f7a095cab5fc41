import Foundation
import Text

// Conversational-recommendation data in the EAR / MetaCRS release layout (see corpora/README.md, crs/).
//
// Design notes
// - Users, items and attributes are dense ids 0..<count; the loader checks that every file agrees.
// - An item's attribute set P_v and a user's preferred set P_u are kept both as sorted id lists and as
//   64-bit masks (every release has at most 35 attributes): the simulator's hot loops (candidate
//   filtering, attribute entropy) are then one AND per item.
// - Two interaction sets exist: `userItems` (user_item.json, the observed Last.fm / book / movie
//   interactions) and `sampledInteractions` (interaction.csv, the 40 interactions per user that MetaCRS
//   sampled proportional to e_u . e_v; see `InteractionSampler`). They differ: only about a third of
//   the sampled lastfm pairs are observed ones.

/// A problem in a CRS data file: which file, where (a JSON key or a CSV line), and what is wrong.
public struct CRSDataError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var location: String
    public var problem: String

    public init(file: String, location: String, problem: String) {
        self.file = file
        self.location = location
        self.problem = problem
    }

    public var description: String { "\(file): \(location): \(problem)" }
}

/// Counts that describe a loaded dataset (printed by `paml recommend`, checked against the README).
public struct CRSStatistics: Equatable, CustomStringConvertible {
    public var trainUsers: Int, validUsers: Int, testUsers: Int
    public var items: Int
    public var attributes: Int
    /// Observed interactions (user_item.json).
    public var interactions: Int
    /// Sampled interactions (interaction.csv).
    public var sampledInteractions: Int
    /// Mean |P_u| over users and mean |P_v| over items.
    public var meanUserAttributes: Double
    public var meanItemAttributes: Double

    public var description: String {
        let pu = String(format: "%.2f", meanUserAttributes), pv = String(format: "%.2f", meanItemAttributes)
        return "users train/valid/test \(trainUsers)/\(validUsers)/\(testUsers), items \(items), "
            + "attributes \(attributes), interactions \(interactions) (sampled \(sampledInteractions)), "
            + "mean |P_u| \(pu), mean |P_v| \(pv)"
    }
}

/// The three user splits of the cold-start protocol.
public enum CRSSplit: String, CaseIterable, Sendable {
    case train, valid, test
}

/// The MetaCRS release's datasets (folders under <corpora>/crs).
public enum CRSDatasetName: String, CaseIterable, Codable, Sendable {
    case lastfm, book, movie
}

/// One CRS dataset (lastfm, book or movie) fully in memory.
public struct CRSDataset: Sendable {
    public let name: String
    public let itemCount: Int
    public let userCount: Int
    /// Number of attributes (the values of merged_tag_map.json are exactly 0..<attributeCount).
    public let attributeCount: Int
    /// P_v: sorted attribute ids of each item.
    public let itemAttributes: [[Int]]
    /// P_v as a bit mask (bit a set when attribute a belongs to the item).
    public let itemMasks: [UInt64]
    /// P_u: sorted preferred attribute ids of each user (user_attr.json).
    public let userAttributes: [[Int]]
    public let userMasks: [UInt64]
    /// Observed interactions of each user (user_item.json), in file order.
    public let userItems: [[Int]]
    /// Sampled interactions of each user (interaction.csv), in file order; may be empty for a user.
    public let sampledInteractions: [[Int]]
    public let trainUsers: [Int], validUsers: [Int], testUsers: [Int]
    /// Original tag id -> attribute id (merged_tag_map.json).
    public let tagMap: [Int: Int]
    /// Attribute names (lastfm only): attributeNames[a].
    public let attributeNames: [String]?
    /// Item names (lastfm only; 7282 of 7432 artists have one).
    public let itemNames: [Int: String]?

    /// The users of a split.
    public func users(_ split: CRSSplit) -> [Int] {
        switch split {
        case .train: return trainUsers
        case .valid: return validUsers
        case .test: return testUsers
        }
    }

    /// A readable attribute label: its name when known, else "attribute <id>".
    public func attributeLabel(_ attribute: Int) -> String {
        attributeNames?[attribute] ?? "attribute \(attribute)"
    }

    /// A readable item label: its name when known, else "item <id>".
    public func itemLabel(_ item: Int) -> String {
        itemNames?[item] ?? "item \(item)"
    }

    public var statistics: CRSStatistics {
        CRSStatistics(
            trainUsers: trainUsers.count, validUsers: validUsers.count, testUsers: testUsers.count,
            items: itemCount, attributes: attributeCount,
            interactions: userItems.reduce(0) { $0 + $1.count },
            sampledInteractions: sampledInteractions.reduce(0) { $0 + $1.count },
            meanUserAttributes: Double(userAttributes.reduce(0) { $0 + $1.count }) / Double(max(userCount, 1)),
            meanItemAttributes: Double(itemAttributes.reduce(0) { $0 + $1.count }) / Double(max(itemCount, 1)))
    }

    /// Builds a dataset from in-memory parts, checking ids the same way the loader does.
    /// `source` names where the parts came from in error messages.
    public init(
        name: String, attributeCount: Int, itemAttributes: [[Int]], userAttributes: [[Int]],
        userItems: [[Int]], sampledInteractions: [[Int]], trainUsers: [Int], validUsers: [Int], testUsers: [Int],
        tagMap: [Int: Int] = [:], attributeNames: [String]? = nil, itemNames: [Int: String]? = nil,
        source: String = "in-memory dataset"
    ) throws {
        guard attributeCount > 0 && attributeCount <= 64 else {
            throw CRSDataError(file: source, location: "attributes", problem: "\(attributeCount) attributes; 1...64 supported")
        }
        let itemCount = itemAttributes.count, userCount = userAttributes.count
        func mask(_ ids: [Int], _ file: String, _ key: Int) throws -> UInt64 {
            var m: UInt64 = 0
            for a in ids {
                guard a >= 0 && a < attributeCount else {
                    throw CRSDataError(file: file, location: "key \"\(key)\"",
                                       problem: "attribute \(a) outside 0..<\(attributeCount)")
                }
                m |= 1 << UInt64(a)
            }
            return m
        }
        itemMasks = try itemAttributes.enumerated().map { try mask($1, "item_dict.json", $0) }
        userMasks = try userAttributes.enumerated().map { try mask($1, "user_attr.json", $0) }
        guard userItems.count == userCount else {
            throw CRSDataError(file: "user_item.json", location: "top level",
                               problem: "\(userItems.count) users but user_attr.json has \(userCount)")
        }
        guard sampledInteractions.count == userCount else {
            throw CRSDataError(file: "interaction.csv", location: "all rows",
                               problem: "interactions for \(sampledInteractions.count) users, expected \(userCount)")
        }
        for (file, lists) in [("user_item.json", userItems), ("interaction.csv", sampledInteractions)] {
            for (u, items) in lists.enumerated() {
                if let bad = items.first(where: { $0 < 0 || $0 >= itemCount }) {
                    throw CRSDataError(file: file, location: "user \(u)", problem: "item \(bad) outside 0..<\(itemCount)")
                }
            }
        }
        var seen = [CRSSplit?](repeating: nil, count: userCount)
        for (split, users) in [(CRSSplit.train, trainUsers), (.valid, validUsers), (.test, testUsers)] {
            for u in users {
                let file = "user_\(split.rawValue).json"
                guard u >= 0 && u < userCount else {
                    throw CRSDataError(file: file, location: "user \(u)", problem: "user outside 0..<\(userCount)")
                }
                if let other = seen[u] {
                    throw CRSDataError(file: file, location: "user \(u)",
                                       problem: "user already in user_\(other.rawValue).json (splits must be disjoint)")
                }
                seen[u] = split
            }
        }
        if let names = attributeNames, names.count != attributeCount {
            throw CRSDataError(file: "attribute_names.json", location: "top level",
                               problem: "\(names.count) names for \(attributeCount) attributes")
        }
        if let bad = itemNames?.keys.first(where: { $0 < 0 || $0 >= itemCount }) {
            throw CRSDataError(file: "item_names.json", location: "key \"\(bad)\"", problem: "not an item id (0..<\(itemCount))")
        }
        self.name = name
        self.itemCount = itemCount
        self.userCount = userCount
        self.attributeCount = attributeCount
        self.itemAttributes = itemAttributes.map { Array(Set($0)).sorted() }
        self.userAttributes = userAttributes.map { Array(Set($0)).sorted() }
        self.userItems = userItems
        self.sampledInteractions = sampledInteractions
        self.trainUsers = trainUsers
        self.validUsers = validUsers
        self.testUsers = testUsers
        self.tagMap = tagMap
        self.attributeNames = attributeNames
        self.itemNames = itemNames
    }
}

// MARK: - Loading

extension CRSDataset {
    /// Loads `<directory>` (a folder such as crs/lastfm). The dataset name is the folder name.
    /// attribute_names.json and item_names.json are read when present.
    public static func load(directory: URL) throws -> CRSDataset {
        let name = directory.lastPathComponent
        let tagObject = try readJSON(directory, "merged_tag_map.json")
        let tagMap = try intKeyed(tagObject, "merged_tag_map.json") { value, key in
            try integer(value, "merged_tag_map.json", key)
        }
        let attributeCount = Set(tagMap.values).count
        guard Set(tagMap.values) == Set(0..<attributeCount) else {
            throw CRSDataError(file: "merged_tag_map.json", location: "values",
                               problem: "attribute ids are not exactly 0..<\(attributeCount)")
        }

        let itemObject = try readJSON(directory, "item_dict.json")
        let itemMap = try intKeyed(itemObject, "item_dict.json") { value, key -> [Int] in
            guard let entry = value as? [String: Any] else {
                throw CRSDataError(file: "item_dict.json", location: "key \"\(key)\"", problem: "expected an object")
            }
            guard let features = entry["feature_index"] else {
                throw CRSDataError(file: "item_dict.json", location: "key \"\(key)\"", problem: "missing \"feature_index\"")
            }
            return try integers(features, "item_dict.json", "\(key).feature_index")
        }
        let itemAttributes = try dense(itemMap, "item_dict.json")

        let userAttrMap = try intKeyed(try readJSON(directory, "user_attr.json"), "user_attr.json") {
            try integers($0, "user_attr.json", "\($1)")
        }
        let userAttributes = try dense(userAttrMap, "user_attr.json")
        let userItemMap = try intKeyed(try readJSON(directory, "user_item.json"), "user_item.json") {
            try integers($0, "user_item.json", "\($1)")
        }
        let userItems = try dense(userItemMap, "user_item.json")
        let sampled = try readInteractions(directory.appendingPathComponent("interaction.csv"),
                                           users: userAttributes.count)
        func split(_ s: CRSSplit) throws -> [Int] {
            let file = "user_\(s.rawValue).json"
            return try integers(try readJSON(directory, file), file, "top level")
        }
        var attributeNames: [String]?
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("attribute_names.json").path) {
            let map = try intKeyed(try readJSON(directory, "attribute_names.json"), "attribute_names.json") {
                value, key -> String in
                guard let s = value as? String else {
                    throw CRSDataError(file: "attribute_names.json", location: "key \"\(key)\"", problem: "expected a string")
                }
                return s
            }
            attributeNames = try dense(map, "attribute_names.json")
        }
        var itemNames: [Int: String]?
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("item_names.json").path) {
            itemNames = try intKeyed(try readJSON(directory, "item_names.json"), "item_names.json") { value, key in
                guard let s = value as? String else {
                    throw CRSDataError(file: "item_names.json", location: "key \"\(key)\"", problem: "expected a string")
                }
                return s
            }
        }
        return try CRSDataset(
            name: name, attributeCount: attributeCount, itemAttributes: itemAttributes,
            userAttributes: userAttributes, userItems: userItems, sampledInteractions: sampled,
            trainUsers: try split(.train), validUsers: try split(.valid), testUsers: try split(.test),
            tagMap: tagMap, attributeNames: attributeNames, itemNames: itemNames, source: directory.path)
    }

    private static func readJSON(_ directory: URL, _ file: String) throws -> Any {
        let url = directory.appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CRSDataError(file: url.path, location: "file", problem: "cannot be read (missing?)")
        }
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw CRSDataError(file: url.path, location: "file", problem: "not valid JSON (\(error.localizedDescription))")
        }
    }

    /// A JSON object whose keys are decimal ids, each value converted by `convert`.
    private static func intKeyed<T>(_ object: Any, _ file: String, _ convert: (Any, Int) throws -> T) throws -> [Int: T] {
        guard let dictionary = object as? [String: Any] else {
            throw CRSDataError(file: file, location: "top level", problem: "expected a JSON object")
        }
        var out: [Int: T] = [:]
        for (key, value) in dictionary {
            guard let id = Int(key) else {
                throw CRSDataError(file: file, location: "key \"\(key)\"", problem: "key is not an integer id")
            }
            out[id] = try convert(value, id)
        }
        return out
    }

    /// Id-keyed values as an array 0..<count; every id must be present.
    private static func dense<T>(_ map: [Int: T], _ file: String) throws -> [T] {
        try (0..<map.count).map { id in
            guard let value = map[id] else {
                throw CRSDataError(file: file, location: "key \"\(id)\"",
                                   problem: "missing: ids must be exactly 0..<\(map.count)")
            }
            return value
        }
    }

    private static func integer(_ value: Any, _ file: String, _ key: Int) throws -> Int {
        guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue) else {
            throw CRSDataError(file: file, location: "key \"\(key)\"", problem: "expected an integer, got \(value)")
        }
        return id
    }

    private static func integers(_ value: Any, _ file: String, _ location: String) throws -> [Int] {
        guard let array = value as? [Any] else {
            throw CRSDataError(file: file, location: location, problem: "expected a list of integers")
        }
        return try array.map { element in
            guard let number = element as? NSNumber, let id = Int(exactly: number.doubleValue) else {
                throw CRSDataError(file: file, location: location, problem: "expected an integer, got \(element)")
            }
            return id
        }
    }

    /// interaction.csv: a `user,item` header, then one `user,item` row per line.
    private static func readInteractions(_ url: URL, users: Int) throws -> [[Int]] {
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw CRSDataError(file: url.path, location: "file", problem: "cannot be read as UTF-8 (missing?)")
        }
        var out = [[Int]](repeating: [], count: users)
        for (index, line) in TextFile.lines(text).enumerated() {
            let row = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if row.isEmpty { continue }
            if index == 0 {
                guard row == "user,item" else {
                    throw CRSDataError(file: url.path, location: "line 1", problem: "header must be \"user,item\", got \"\(row)\"")
                }
                continue
            }
            let fields = row.split(separator: ",")
            guard fields.count == 2, let user = Int(fields[0]), let item = Int(fields[1]) else {
                throw CRSDataError(file: url.path, location: "line \(index + 1)", problem: "expected \"user,item\" integers, got \"\(row)\"")
            }
            guard user >= 0 && user < users else {
                throw CRSDataError(file: url.path, location: "line \(index + 1)", problem: "user \(user) outside 0..<\(users)")
            }
            out[user].append(item)
        }
        return out
    }
}

extension CRSDataset {
    /// Items by descending interaction count among `users` (observed interactions), ties by id: a
    /// ranking that needs no learning, used by the rule baselines to order candidates.
    public func popularityOrder(users: [Int]) -> [Int] {
        var counts = [Int](repeating: 0, count: itemCount)
        for u in users { for v in userItems[u] { counts[v] += 1 } }
        return (0..<itemCount).sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
    }
}
