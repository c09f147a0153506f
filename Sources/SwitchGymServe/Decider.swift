import Foundation
import SwitchGymAgents
import SwitchGymCore
import SwitchGymEnvs

/// The answer to one `POST /v1/decide`.
public struct Decision: Codable, Sendable, Equatable {
    /// The telemetry's interval (the one about to start).
    public var interval: Int
    /// The variant each device should hold, by name, in fleet order.
    public var assignment: [String]
    /// The same as variant indices (the scenario's variant order).
    public var actions: [Int]
    /// The policy and the version that decided, and that version's file sha256.
    public var policy: String
    public var version: Int
    public var sha256: String
    /// Whether the observer's history started afresh with this interval (the first call, or an
    /// interval that does not follow the previous one).
    public var restarted: Bool

    public init(interval: Int, assignment: [String], actions: [Int], policy: String, version: Int, sha256: String, restarted: Bool) {
        self.interval = interval
        self.assignment = assignment
        self.actions = actions
        self.policy = policy
        self.version = version
        self.sha256 = sha256
        self.restarted = restarted
    }
}

/// The decide path: telemetry → observation (``ServingObserver``, the env's own layout code,
/// scaled with the deciding version's frozen normalisation) → the version's action.
///
/// Decisions are serialised (one lock): the observer keeps one history per daemon, and a
/// ``BoundPolicy`` is not thread-safe. Each decide takes exactly one snapshot of the active
/// version and uses it for the normalisation, the network and the answer's version and sha256.
public final class Decider: @unchecked Sendable {
    public let registry: PolicyRegistry
    private let lock = NSLock()
    private var observer: ServingObserver
    private let variantNames: [String]
    private let mask: [Bool]

    public init(registry: PolicyRegistry) {
        self.registry = registry
        let sc = registry.scenario
        observer = ServingObserver(scenario: sc, normalization: ObservationNormalization(billScale: 1, episodeIntervals: 1))
        variantNames = sc.variants.map(\.name)
        mask = observer.actionMask
    }

    /// Decides for one interval's telemetry with the active version of `policy` (default:
    /// ``PolicyRegistry/active(_:)``'s).
    /// - Throws: ``ServeError``: bad telemetry (naming the key; the history is unchanged),
    ///   unknown policy, no policy active.
    public func decide(_ telemetry: ServingTelemetry, policy: String? = nil) throws -> Decision {
        lock.lock()
        defer { lock.unlock() }
        let v = try registry.active(policy)
        observer.normalization = v.normalization
        let obs: [Float]
        do { obs = try observer.observe(telemetry) } catch let e as TelemetryError {
            throw ServeError(.badTelemetry, e.description, key: e.key)
        }
        let actions: [Int]
        do { actions = try v.bound.decide(observation: obs, mask: mask) } catch {
            throw ServeError(.internalError, "policy \(v.name) v\(v.version) refused the observation: \(error)")
        }
        return Decision(interval: telemetry.interval, assignment: actions.map { variantNames[$0] }, actions: actions,
                        policy: v.name, version: v.version, sha256: v.sha256, restarted: observer.restarted)
    }
}
