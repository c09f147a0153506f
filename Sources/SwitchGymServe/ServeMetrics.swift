import Foundation
import Prometheus

/// The daemon's Prometheus metrics (`GET /metrics`):
/// - `switchgym_decisions_total{policy}`: decisions answered;
/// - `switchgym_decide_refusals_total{reason}`: decide requests refused;
/// - `switchgym_decide_duration_seconds`: decide latency (decoded telemetry → answer), a histogram;
/// - `switchgym_policy_active_version{policy}`: the active version of each policy;
/// - `switchgym_policy_swaps_total{policy}`: active-version changes (upload, rollback, folder scan);
/// - `switchgym_uploads_rejected_total{reason}`: uploads and folder files refused.
public final class ServeMetrics: RegistryEvents, @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    let duration: DurationHistogram

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "switchgym", metricName: metric, unitName: unit, helpText: help)
    }
    nonisolated(unsafe) static let decisions = name("decisions", "total", "Decisions answered")
    nonisolated(unsafe) static let refusals = name("decide_refusals", "total", "Decide requests refused")
    nonisolated(unsafe) static let activeVersion = name("policy_active_version", "", "The active version of each policy")
    nonisolated(unsafe) static let swaps = name("policy_swaps", "total", "Active-version changes (upload, rollback, folder scan)")
    nonisolated(unsafe) static let rejections = name("uploads_rejected", "total", "Policy uploads and folder files refused")

    public init() {
        duration = registry.makeDurationHistogram(
            descriptor: Self.name("decide_duration", "seconds", "Time to answer POST /v1/decide, from decoded telemetry to the decision"),
            buckets: [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
                      .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .seconds(1)])
    }

    public func decided(policy: String, duration d: Duration) {
        registry.makeCounter(descriptor: Self.decisions, labels: [("policy", policy)]).increment()
        duration.record(d)
    }

    public func decideRefused(reason: ServeError.Reason) {
        registry.makeCounter(descriptor: Self.refusals, labels: [("reason", reason.rawValue)]).increment()
    }

    public func activated(name: String, version: Int, swap: Bool) {
        registry.makeGauge(descriptor: Self.activeVersion, labels: [("policy", name)]).set(Double(version))
        if swap { registry.makeCounter(descriptor: Self.swaps, labels: [("policy", name)]).increment() }
    }

    public func rejected(reason: ServeError.Reason) {
        registry.makeCounter(descriptor: Self.rejections, labels: [("reason", reason.rawValue)]).increment()
    }

    /// The Prometheus text exposition.
    public func text() -> String { registry.emitToString() }
}
