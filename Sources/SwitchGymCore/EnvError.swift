/// An error raised by an env, a space, a wrapper or a vector env.
///
/// An extensible struct: match on ``code``; read ``message`` for what went wrong,
/// where, what was expected, and how to fix it.
public struct EnvError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of error. New kinds may be added; do not switch exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case stepBeforeReset, invalidAction, invalidMask, invalidSpace, unsupported, invalidArgument
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// `step` was called before the first `reset` (or after `close`).
        public static let stepBeforeReset = Code(.stepBeforeReset)
        /// The action is not inside the action space.
        public static let invalidAction = Code(.invalidAction)
        /// An action mask has the wrong size or allows no action.
        public static let invalidMask = Code(.invalidMask)
        /// A space is malformed (for example `low > high`, or `n <= 0`).
        public static let invalidSpace = Code(.invalidSpace)
        /// The env does not support the requested operation.
        public static let unsupported = Code(.unsupported)
        /// An argument has the wrong size or value.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { kind.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// A message naming what went wrong, expected and actual values, and a hint.
    public let message: String

    /// Creates an error of the given kind.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The error thrown when `step` comes before `reset`.
    public static func stepBeforeReset(_ env: String) -> EnvError {
        EnvError(.stepBeforeReset,
                 "\(env): step(_:) called before reset(seed:options:). "
                 + "- help: call reset(seed:options:) once before the first step and after close().")
    }
}
