/// How the fluid env charges queueing inside a decision interval.
///
/// - ``subinterval`` (the default): each interval is split into ``ServingModel/subBins``
///   sub-bins that carry the trace's own arrival profile; the fluid queue is served earliest
///   deadline first, as the discrete-event fidelity serves it, with deadlines in seconds
///   carried across intervals; loads and switches take effect within the interval. A query is
///   on time only if the queue reaches it early enough for its batch to finish by its
///   deadline (for a fixed-cost variant, its own deadline: a sub-bin's queries arrive spread
///   over it and are served in arrival order), and it is charged and dropped by the
///   discrete-event fidelity's rules (whole
///   intervals late, rounded up; dropped after `drop_after` intervals past the deadline).
/// - ``interval``: the original per-interval model: anything answered within the interval its
///   deadline falls in is on time. It is an optimistic bound under overload, and the model the
///   reduction to ``EmploymentSearch`` is proved against step by step.
public enum FluidQueueing: String, Sendable, Equatable, Codable, CaseIterable {
    case subinterval
    case interval
}
