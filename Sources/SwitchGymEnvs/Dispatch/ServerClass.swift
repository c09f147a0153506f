/// A class of identical inference servers: `count` replicas of one loaded model variant, each
/// serving one query at a time at `serviceRate` queries per second (mean service time
/// `1 / serviceRate` seconds) with expected accuracy `accuracy`.
///
/// This is the server model of Choudhury, Joshi and Wang, "Job assignment in machine learning
/// inference systems with accuracy constraints", *Performance Evaluation* 2024
/// (doi:10.1016/j.peva.2024.102463): servers are heterogeneous in rate and accuracy, and a
/// dispatcher assigns each arriving query to one server.
public struct ServerClass: Sendable, Equatable, Hashable {
    /// Service rate μ of one server, in queries per second.
    public var serviceRate: Double
    /// Expected accuracy of the variant, in [0, 1] (any common scale works if used consistently
    /// with the accuracy target).
    public var accuracy: Double
    /// Number of identical servers (replicas) in the class.
    public var count: Int

    /// - Precondition: `serviceRate > 0` and finite, `accuracy` finite, `count >= 1`.
    public init(serviceRate: Double, accuracy: Double, count: Int = 1) {
        precondition(serviceRate > 0 && serviceRate.isFinite, "service rate must be positive and finite")
        precondition(accuracy.isFinite, "accuracy must be finite")
        precondition(count >= 1, "a server class needs at least one server")
        self.serviceRate = serviceRate
        self.accuracy = accuracy
        self.count = count
    }

    /// Total capacity of the class, `count × serviceRate` queries per second.
    public var capacity: Double { Double(count) * serviceRate }
}

/// The flattened server layout dispatch policies and the simulator share: servers are numbered
/// `0..<serverCount`, those of class `c` contiguously in `classStart[c]..<classStart[c + 1]`.
public struct DispatchSystem: Sendable, Equatable {
    /// The server classes, in the order given.
    public let classes: [ServerClass]
    /// Class index of each server.
    public let serverClass: [Int]
    /// Service rate of each server (queries/s).
    public let serverRate: [Double]
    /// First server of each class, plus `serverCount` at the end (length `classes.count + 1`).
    public let classStart: [Int]

    /// - Precondition: `classes` is not empty.
    public init(classes: [ServerClass]) {
        precondition(!classes.isEmpty, "a dispatch system needs at least one server class")
        self.classes = classes
        var owner: [Int] = [], rate: [Double] = [], start: [Int] = [0]
        for (c, cls) in classes.enumerated() {
            for _ in 0..<cls.count {
                owner.append(c)
                rate.append(cls.serviceRate)
            }
            start.append(owner.count)
        }
        serverClass = owner
        serverRate = rate
        classStart = start
    }

    /// Total number of servers.
    public var serverCount: Int { serverClass.count }
    /// Number of classes.
    public var classCount: Int { classes.count }
    /// Total capacity `Σ count_i μ_i` in queries per second.
    public var totalCapacity: Double { classes.reduce(0) { $0 + $1.capacity } }
    /// Servers of class `c`.
    @inline(__always) public func servers(ofClass c: Int) -> Range<Int> { classStart[c]..<classStart[c + 1] }
}
