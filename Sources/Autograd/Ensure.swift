/// `precondition` whose message survives -O: Autograd is optimised even in debug builds, and -O drops
/// precondition messages (a bare "Illegal instruction"). Traps with the caller's file, line and the problem.
@inline(__always)
func ensure(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
            file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
