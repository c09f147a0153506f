/// An error from SwitchGym's file and C-library layer.
///
/// Every error says what failed (`summary`), where (`path`, and the `location`
/// inside the file such as a line number, a dataset or a key), what was expected,
/// and, where one is known, how to fix it (`hint`). For errors raised by a C
/// library, `function` names the C function and `libraryMessage` carries the
/// library's own text.
///
/// The set of ``Kind``s may grow; switch over it with a `default` case.
public struct SwitchGymIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of an I/O error.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable { case hdf5, zstd, zlib, system, format, notFound, truncated, invalidArgument, checksum }
        let base: Base
        /// An HDF5 call failed.
        public static let hdf5 = Kind(base: .hdf5)
        /// A zstd call failed (corrupt or truncated frame, bad parameter).
        public static let zstd = Kind(base: .zstd)
        /// A zlib call failed (corrupt or truncated gzip stream).
        public static let zlib = Kind(base: .zlib)
        /// A system call failed (`errno`).
        public static let system = Kind(base: .system)
        /// The content of a file does not have the expected format.
        public static let format = Kind(base: .format)
        /// A file, dataset or attribute does not exist.
        public static let notFound = Kind(base: .notFound)
        /// A file or stream ended early.
        public static let truncated = Kind(base: .truncated)
        /// A caller passed a value outside the accepted range.
        public static let invalidArgument = Kind(base: .invalidArgument)
        /// Content does not match the checksum recorded when the file was written, or a
        /// checksum is missing where the format requires one.
        public static let checksum = Kind(base: .checksum)
        public var description: String { base.rawValue }
    }

    /// The class of the error.
    public var kind: Kind
    /// What went wrong, in one sentence.
    public var summary: String
    /// The file concerned, when there is one.
    public var path: String?
    /// Where in the file: `line 12`, `dataset /arrivals`, `attribute seed`.
    public var location: String?
    /// The C function that reported the failure, when one did.
    public var function: String?
    /// The C library's own message.
    public var libraryMessage: String?
    /// How to fix it.
    public var hint: String?

    public init(_ kind: Kind, _ summary: String, path: String? = nil, location: String? = nil,
                function: String? = nil, libraryMessage: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.summary = summary
        self.path = path
        self.location = location
        self.function = function
        self.libraryMessage = libraryMessage
        self.hint = hint
    }

    public var description: String {
        var s = ""
        if let path { s += path }
        if let location { s += s.isEmpty ? location : ":\(location)" }
        if !s.isEmpty { s += ": " }
        s += summary
        if let function {
            s += " (\(function)"
            if let libraryMessage, !libraryMessage.isEmpty { s += ": \(libraryMessage)" }
            s += ")"
        } else if let libraryMessage, !libraryMessage.isEmpty {
            s += " (\(libraryMessage))"
        }
        if let hint { s += "\n  - help: \(hint)" }
        return s
    }
}
