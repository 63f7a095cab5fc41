import Foundation

/// A tiny dataset in the release layout, written to a temporary folder.
public enum CRSFixture {
    public static let files: [String: String] = [
        "merged_tag_map.json": #"{"13": 0, "18": 1, "73": 2, "79": 3}"#,
        "item_dict.json": #"""
        {"0": {"categories": [13, 18], "feature_index": [0, 1], "busi_id": 5},
         "1": {"feature_index": [0, 2]}, "2": {"feature_index": [1, 2]}, "3": {"feature_index": [0, 1, 2]},
         "4": {"feature_index": [3]}, "5": {"feature_index": [0, 3]}}
        """#,
        "user_item.json": #"{"0": [0, 1, 3], "1": [2, 4], "2": [5, 3]}"#,
        "interaction.csv": "user,item\n0,3\n0,1\n1,4\n2,5\n",
        "user_attr.json": #"{"0": [0, 1], "1": [2, 3], "2": [0, 3, 1]}"#,
        "user_train.json": "[0]", "user_valid.json": "[1]", "user_test.json": "[2]",
        "attribute_names.json": #"{"0": "rock", "1": "90s", "2": "indie", "3": "jazz"}"#,
        "item_names.json": #"{"0": "Blur", "3": "Oasis"}"#,
    ]

    public static func write(_ overrides: [String: String] = [:]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("crs-fixture-\(UUID().uuidString)").appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files.merging(overrides, uniquingKeysWith: { $1 }) {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }

}

/// The real corpora: $PAML_DATA, else ../shared/corpora beside the package (never a machine path). Tests that need
/// them skip when the folder is absent.
public enum Corpora {
    public static var root: URL? {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [ProcessInfo.processInfo.environment["PAML_DATA"].map { URL(fileURLWithPath: $0) },
                          package.appendingPathComponent("../shared/corpora").standardizedFileURL].compactMap { $0 }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("personachat").path) }
    }

    /// `crs/<name>` of the real corpora, when present.
    public static func crs(_ name: String) -> URL? {
        guard let url = root?.appendingPathComponent("crs/\(name)"),
              FileManager.default.fileExists(atPath: url.appendingPathComponent("item_dict.json").path) else { return nil }
        return url
    }
}
