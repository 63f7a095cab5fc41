import Foundation
import TestSupport
import XCTest
@testable import Recommender

final class CRSDatasetTests: XCTestCase {
    func testLoadsFixture() throws {
        let d = try CRSDataset.load(directory: CRSFixture.write())
        XCTAssertEqual(d.name, "tiny")
        XCTAssertEqual(d.itemCount, 6)
        XCTAssertEqual(d.attributeCount, 4)
        XCTAssertEqual(d.itemAttributes[3], [0, 1, 2])
        XCTAssertEqual(d.itemMasks[5], 0b1001)
        XCTAssertEqual(d.userAttributes[2], [0, 1, 3])
        XCTAssertEqual(d.userItems[2], [5, 3])
        XCTAssertEqual(d.sampledInteractions[0], [3, 1])
        XCTAssertEqual(d.sampledInteractions[2], [5])
        XCTAssertEqual(d.tagMap[79], 3)
        XCTAssertEqual(d.attributeNames, ["rock", "90s", "indie", "jazz"])
        XCTAssertEqual(d.itemLabel(3), "Oasis")
        XCTAssertEqual(d.itemLabel(4), "item 4")
        let s = d.statistics
        XCTAssertEqual([s.trainUsers, s.validUsers, s.testUsers, s.items, s.attributes, s.interactions, s.sampledInteractions],
                       [1, 1, 1, 6, 4, 7, 4])
        XCTAssertEqual(s.meanUserAttributes, 7.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s.meanItemAttributes, 12.0 / 6, accuracy: 1e-12)
    }

    func testNamesAreOptional() throws {
        let directory = try CRSFixture.write()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("attribute_names.json"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("item_names.json"))
        let d = try CRSDataset.load(directory: directory)
        XCTAssertNil(d.attributeNames)
        XCTAssertEqual(d.attributeLabel(2), "attribute 2")
    }

    private func assertRejects(_ overrides: [String: String], file expectedFile: String, mentioning words: [String],
                               line: UInt = #line) {
        do {
            _ = try CRSDataset.load(directory: try CRSFixture.write(overrides))
            XCTFail("loaded a broken dataset", line: line)
        } catch let error as CRSDataError {
            XCTAssertTrue(error.file.hasSuffix(expectedFile), "\(error)", line: line)
            for word in words { XCTAssertTrue(error.description.contains(word), "\(error) lacks \(word)", line: line) }
        } catch {
            XCTFail("unexpected error \(error)", line: line)
        }
    }

    func testValidationNamesFileAndKey() {
        assertRejects(["item_dict.json": #"{"0": {"feature_index": [0, 9]}}"#], file: "item_dict.json",
                      mentioning: ["key \"0\"", "attribute 9"])
        assertRejects(["item_dict.json": #"{"0": {"categories": [1]}}"#], file: "item_dict.json",
                      mentioning: ["feature_index"])
        assertRejects(["user_item.json": #"{"0": [0], "1": [99], "2": [1]}"#], file: "user_item.json",
                      mentioning: ["user 1", "item 99"])
        assertRejects(["user_attr.json": #"{"0": [0], "2": [1]}"#], file: "user_attr.json",
                      mentioning: ["key \"1\"", "missing"])
        assertRejects(["interaction.csv": "user,item\n0,1\n0;2\n"], file: "interaction.csv", mentioning: ["line 3"])
        assertRejects(["interaction.csv": "u,i\n0,1\n"], file: "interaction.csv", mentioning: ["line 1", "header"])
        assertRejects(["user_test.json": "[0]"], file: "user_test.json", mentioning: ["user 0", "disjoint"])
        assertRejects(["merged_tag_map.json": #"{"13": 0, "18": 2}"#], file: "merged_tag_map.json", mentioning: ["0..<2"])
        assertRejects(["user_item.json": "[1, 2]"], file: "user_item.json", mentioning: ["top level"])
    }

    func testRealDataCountsMatchReadme() throws {
        guard let lastfm = Corpora.crs("lastfm") else { throw XCTSkip("corpora/crs not found") }
        let d = try CRSDataset.load(directory: lastfm)
        let s = d.statistics
        XCTAssertEqual([s.trainUsers, s.validUsers, s.testUsers], [1441, 180, 180])
        XCTAssertEqual(s.attributes, 33)
        XCTAssertEqual(s.items, 7432)
        XCTAssertEqual(s.sampledInteractions, 72000)
        XCTAssertEqual(d.itemNames?.count, 7282)
        XCTAssertEqual(d.attributeNames?[2], "rock")
        XCTAssertEqual(s.meanUserAttributes, 7, accuracy: 1e-9)
        for (name, users, attributes) in [("book", [1513, 189, 189], 35), ("movie", [2400, 300, 300], 35)] {
            guard let folder = Corpora.crs(name) else { continue }
            let other = try CRSDataset.load(directory: folder).statistics
            XCTAssertEqual([other.trainUsers, other.validUsers, other.testUsers], users, name)
            XCTAssertEqual(other.attributes, attributes, name)
        }
    }
}
