import XCTest
import Tensor
import Autograd
import TestSupport

final class BasicOpsGradientTests: XCTestCase {
    var rng = SeededGenerator(seed: 11)

    func check(_ shapes: [[Int]], tolerance: Double = 1e-2, file: StaticString = #filePath, line: UInt = #line,
               _ f: @escaping ([Var]) -> Var) {
        let inputs = shapes.map { Tensor.randomNormal($0, using: &rng) }
        let result = checkGradients(inputs: inputs, f)
        XCTAssertLessThan(result.worstRelativeError, tolerance, result.description, file: file, line: line)
        XCTAssertGreaterThan(result.checkedElements, 0, file: file, line: line)
    }

    func testAddSubMul() {
        check([[3, 4], [3, 4]]) { $0[0] + $0[1] }
        check([[3, 4], [3, 4]]) { $0[0] - $0[1] }
        check([[3, 4], [3, 4]]) { $0[0] * $0[1] }
        check([[3, 4]]) { $0[0] * 2.5 }
    }

    func testShapeOpsAndReductions() {
        check([[2, 3, 4]]) { $0[0].reshaped([6, 4]) }
        check([[2, 3, 4]]) { $0[0].permuted([2, 0, 1]) }
        check([[2, 3, 4]]) { $0[0].sum() }
        check([[2, 3, 4]]) { $0[0].mean() }
        check([[2, 3, 4], [4]]) { $0[0].addingBias($0[1]) }
    }

    func testMatmulAllTransposesBatchedAndShared() {
        for ta in [false, true] {
            for tb in [false, true] {
                check([ta ? [2, 5, 3] : [2, 3, 5], tb ? [2, 4, 5] : [2, 5, 4]]) {
                    matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
                }
            }
            // A rank-2 right operand shared by the batch (the Linear layer case).
            check([[2, 3, 5], ta ? [4, 5] : [5, 4]]) { matmul($0[0], $0[1], transposeB: ta) }
        }
        check([[2, 3, 5], [4, 5], [4]]) { linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testGradientAccumulatesWhenAValueIsReused() {
        let tape = Tape()
        let x = tape.leaf(Tensor([1, 2, 3]), requiresGrad: true)
        let y = (x * x + x).sum()   // d/dx = 2x + 1
        tape.backward(y)
        XCTAssertEqual(tape.gradient(of: x), Tensor([3, 5, 7]))
    }

    func testConstantsRecordNothing() {
        let tape = Tape()
        let a = tape.constant(Tensor([1, 2]))
        let b = (a * a).sum()
        XCTAssertFalse(b.requiresGrad)
        tape.backward(b)
        XCTAssertNil(tape.gradient(of: a))
    }
}
