import Foundation
import XCTest
@testable import Tensor

final class ValidationTests: XCTestCase {
    /// The CRC-32 check value of the standard (zlib, gzip, PNG): crc32("123456789") = 0xCBF43926.
    func testCRC32MatchesTheStandardCheckValue() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Data()), 0)
        XCTAssertEqual(CRC32.tag(Data("123456789".utf8)), "crc32:cbf43926")
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog") = 0x414fa339
        XCTAssertEqual(CRC32.checksum(Data("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
        // In pieces, as a writer feeds it: the same value as in one piece.
        var running = CRC32.Running()
        for piece in ["The quick ", "", "brown fox jumps", " over the lazy dog"] { running.add(Data(piece.utf8)) }
        XCTAssertEqual(running.value, 0x414F_A339)
        XCTAssertEqual(running.tag, "crc32:414fa339")
    }

    func testChecksNameTheFieldAndRange() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try Check.atLeast(0, 1, "steps") }, "steps = 0: must be a whole number >= 1")
        XCTAssertEqual(message { try Check.within(3, 1...2, "heads") }, "heads = 3: must be a whole number in 1...2")
        XCTAssertEqual(message { try Check.positive(.nan, "learningRate") }, "learningRate = nan: must be finite and > 0")
        XCTAssertEqual(message { try Check.positive(0, "learningRate") }, "learningRate = 0.0: must be finite and > 0")
        XCTAssertEqual(message { try Check.positive(20, "lr", upTo: 10) }, "lr = 20.0: must be finite and in (0, 10.0]")
        XCTAssertEqual(message { try Check.dropout(1, "dropout") }, "dropout = 1.0: must be finite and in [0.0, 1.0)")
        XCTAssertEqual(message { try Check.dropout(-.infinity, "dropout") }, "dropout = -inf: must be finite and in [0.0, 1.0)")
        XCTAssertEqual(message { try Check.finite(-1, "clip", from: 0) }, "clip = -1.0: must be finite and >= 0.0")
        XCTAssertEqual(message { try Check.dropout(0, "dropout"); try Check.positive(1e-3, "lr"); try Check.within(2, 1...2, "h") }, "accepted")
    }
}
