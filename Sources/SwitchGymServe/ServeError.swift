import Foundation

/// A refusal of the serving daemon: a machine-readable `reason`, a message for people and
/// the HTTP status it is answered with. Every refusal leaves the serving policy as it was.
public struct ServeError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Short, stable reason codes (the `error.reason` of the JSON body; docs/serving.md).
    public enum Reason: String, Sendable, Codable, CaseIterable {
        /// The request body is not valid JSON of the expected shape.
        case badRequest = "bad_request"
        /// Telemetry that does not fit the scenario (`key` names the key).
        case badTelemetry = "bad_telemetry"
        /// A policy name that is not `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`.
        case badName = "bad_name"
        /// An upload without `X-Content-SHA256` (or `Content-Digest: sha-256=...`).
        case missingSHA256 = "missing_sha256"
        /// The body's sha256 is not the one the request announced (a truncated or altered transfer).
        case sha256Mismatch = "sha256_mismatch"
        /// Not a valid policy file: truncated, corrupted (its own checksum), inconsistent, self-test failed.
        case corruptPolicy = "corrupt_policy"
        /// A valid policy file for another scenario (its fingerprint differs from the daemon's).
        case otherScenario = "other_scenario"
        /// A valid policy file that cannot serve this scenario (sizes, no frozen normalisation).
        case incompatiblePolicy = "incompatible_policy"
        /// Too large a body.
        case tooLarge = "too_large"
        /// No such policy.
        case unknownPolicy = "unknown_policy"
        /// Rollback without a previous version.
        case nothingToRollBack = "nothing_to_roll_back"
        /// No policy is active yet.
        case notReady = "not_ready"
        /// A missing or wrong bearer token.
        case unauthorized = "unauthorized"
        /// The daemon could not write the policy or its state file.
        case storage = "storage_error"
        /// Anything else.
        case internalError = "internal_error"

        /// The HTTP status the reason is answered with.
        public var status: Int {
            switch self {
            case .badRequest, .badTelemetry, .badName, .missingSHA256: return 400
            case .unauthorized: return 401
            case .unknownPolicy: return 404
            case .otherScenario, .incompatiblePolicy, .nothingToRollBack: return 409
            case .tooLarge: return 413
            case .sha256Mismatch, .corruptPolicy: return 422
            case .notReady: return 503
            case .storage, .internalError: return 500
            }
        }
    }

    public var reason: Reason
    public var message: String
    /// The telemetry key at fault (``Reason/badTelemetry``).
    public var key: String?

    public init(_ reason: Reason, _ message: String, key: String? = nil) {
        self.reason = reason
        self.message = message
        self.key = key
    }

    public var description: String { "\(reason.rawValue): \(message)" }
    public var status: Int { reason.status }

    /// The JSON error body: `{"error": {"reason": ..., "message": ..., "key": ...}}`.
    public struct Body: Codable, Sendable, Equatable {
        public struct Detail: Codable, Sendable, Equatable {
            public var reason: String
            public var message: String
            public var key: String?
        }
        public var error: Detail
    }

    public var body: Body { Body(error: .init(reason: reason.rawValue, message: message, key: key)) }
}
