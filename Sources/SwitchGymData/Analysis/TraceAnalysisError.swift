/// An error from trace analysis, splitting, plotting, synthesis or fitting:
/// a bad argument (a window of zero seconds, a train fraction outside (0, 1),
/// an unknown key in a synthetic-trace spec) or an unusable trace.
public struct TraceAnalysisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, with the offending value and what was expected.
    public var message: String
    public var description: String { message }
    /// Makes an error with the given message.
    public init(message: String) { self.message = message }
    init(_ message: String) { self.message = message }
}

/// Converts a window width in seconds to whole microseconds, rejecting widths
/// that are not finite, not positive, or shorter than 1 µs.
func windowMicroseconds(_ seconds: Double) throws -> Int64 {
    guard seconds.isFinite, seconds > 0 else {
        throw TraceAnalysisError("window width must be a finite number of seconds > 0, got \(seconds)")
    }
    let us = (seconds * 1e6).rounded()
    guard us >= 1 else { throw TraceAnalysisError("window width \(seconds) s is shorter than 1 microsecond") }
    guard us < 9e18 else { throw TraceAnalysisError("window width \(seconds) s is too large") }
    return Int64(us)
}

/// The number of windows of width `w` µs covering `[0, duration)`.
@inline(__always)
func windowCount(duration: Int64, width w: Int64) -> Int {
    Int((duration + w - 1) / w)
}
