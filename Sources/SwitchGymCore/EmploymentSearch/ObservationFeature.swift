/// One named feature (a run of floats) of an observation, for people and for serving cores that
/// build the observation from telemetry: what it is, where it sits, its units and how it is
/// computed. A frozen policy file carries the list (``FamilyObservationLayout/features(streamNames:windowIntervals:)``).
public struct ObservationFeature: Codable, Sendable, Equatable {
    /// A stable name, e.g. `device[3].variant` or `stream[1].backlog`.
    public var name: String
    /// Index of its first float in the observation.
    public var offset: Int
    /// Number of floats.
    public var count: Int
    /// Units of each float.
    public var units: String
    /// How it is computed from what the serving system observes.
    public var description: String

    public init(name: String, offset: Int, count: Int, units: String, description: String) {
        self.name = name
        self.offset = offset
        self.count = count
        self.units = units
        self.description = description
    }
}

extension FamilyObservationLayout {
    /// Every feature of this layout in order, covering the observation exactly once.
    /// `streamNames` and `windowIntervals` (each history window's length in decision intervals)
    /// only make the names and descriptions more precise.
    public func features(streamNames: [String]? = nil, windowIntervals: [Int]? = nil) -> [ObservationFeature] {
        var out = [ObservationFeature]()
        out.reserveCapacity(2 * workers + 4 * streams + 1)
        for w in 0..<workers {
            out.append(ObservationFeature(
                name: "device[\(w)].variant", offset: workerOffset(w), count: jobs, units: "one-hot",
                description: "1 at the variant device \(w) (class \(classNames[workerClass[w]])) holds or is loading (\(jobNames.joined(separator: ", "))), 0 elsewhere"))
            out.append(ObservationFeature(
                name: "device[\(w)].pending_load", offset: workerOffset(w) + jobs, count: 1, units: "decision intervals",
                description: "time left until the variant being loaded on device \(w) serves; 0 when it serves"))
        }
        for s in 0..<streams {
            let name = streamNames.flatMap { s < $0.count ? $0[s] : nil } ?? "\(s)"
            let scale = "divided by the bill scale (the mean bills per interval and stream of the training trace)"
            let windows = windowIntervals.map { $0.map(String.init).joined(separator: ", ") + " intervals" } ?? "\(historyWindows) windows"
            out.append(ObservationFeature(
                name: "stream[\(name)].history", offset: streamOffset(s), count: historyWindows, units: "bills per interval / bill scale",
                description: "mean weighted queries (bills) that arrived per interval over the last \(windows), \(scale)"))
            out.append(ObservationFeature(
                name: "stream[\(name)].backlog", offset: streamOffset(s) + historyWindows, count: 4, units: "bills / bill scale",
                description: "queued bills by lateness at the end of the next interval: not yet late, 1, 2-3, 4+ intervals late; \(scale)"))
            if forecast {
                out.append(ObservationFeature(
                    name: "stream[\(name)].forecast", offset: streamOffset(s) + historyWindows + 4, count: 1, units: "bills / bill scale",
                    description: "the forecast bills of the next interval, \(scale)"))
            }
        }
        out.append(ObservationFeature(name: "elapsed", offset: elapsedOffset, count: 1, units: "fraction",
                                      description: "intervals since the episode began over the episode length, clipped to [0, 1]"))
        return out
    }
}
