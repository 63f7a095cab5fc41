import XCTest
import Tensor

/// Asserts two tensors have the same shape and agree elementwise within `absolute + relative * |expected|`.
public func assertClose(
    _ actual: Tensor, _ expected: Tensor, absolute: Float = 1e-5, relative: Float = 1e-4,
    _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.shape, expected.shape, "shape mismatch \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    for i in 0..<actual.count {
        let (a, e) = (actual.scalars[i], expected.scalars[i])
        if !(abs(a - e) <= absolute + relative * abs(e)) {
            XCTFail("element \(i): \(a) vs expected \(e) \(message)", file: file, line: line)
            return
        }
    }
}

/// Asserts two floats agree within `absolute + relative * |expected|`.
public func assertClose(
    _ actual: Float, _ expected: Float, absolute: Float = 1e-5, relative: Float = 1e-4,
    _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssert(abs(actual - expected) <= absolute + relative * abs(expected),
              "\(actual) vs expected \(expected) \(message)", file: file, line: line)
}
