import Dispatch
import Foundation
import SwitchGymCore

/// One env's benchmark figures.
public struct EnvBenchmarkResult: Sendable, Equatable, Codable {
    /// The env id.
    public var env: String
    /// Sub-env steps per second on one core (vector steps × copies / seconds).
    public var stepsPerSecond: Double
    /// Heap allocations per vector step (`nil` where counting is unsupported).
    public var allocationsPerStep: Double?
    /// Copies in the vector env.
    public var copies: Int

    /// `{"env", "steps_per_second", "allocations_per_step"}` on one line (`null` where
    /// allocations are not counted; `queries_per_second` only for a discrete-event run).
    public var jsonLine: String { BenchLine(env: env, stepsPerSecond: stepsPerSecond.rounded(), allocationsPerStep: allocationsPerStep).json }
}

/// One line of `bench envs --json`.
public struct BenchLine: Encodable {
    public var env: String
    public var stepsPerSecond: Double
    public var queriesPerSecond: Double? = nil
    public var allocationsPerStep: Double?

    public init(env: String, stepsPerSecond: Double, queriesPerSecond: Double? = nil, allocationsPerStep: Double?) {
        self.env = env
        self.stepsPerSecond = stepsPerSecond
        self.queriesPerSecond = queriesPerSecond
        self.allocationsPerStep = allocationsPerStep
    }

    enum CodingKeys: String, CodingKey {
        case env, stepsPerSecond = "steps_per_second", queriesPerSecond = "queries_per_second", allocationsPerStep = "allocations_per_step"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(env, forKey: .env)
        try c.encode(stepsPerSecond, forKey: .stepsPerSecond)
        try c.encodeIfPresent(queriesPerSecond, forKey: .queriesPerSecond)
        // Always present: `null` where allocations are not counted.
        try c.encode(allocationsPerStep, forKey: .allocationsPerStep)
    }

    /// The line: keys in this order, no spaces.
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Measures single-core throughput and allocations of registered envs stepped through a
/// ``VectorEnv`` (Gymnasium's `benchmark_step`, swift-nio's allocation counters).
///
/// Actions are drawn up front (uniformly from the action space, ignoring masks) so the
/// timed loop does nothing but step.
public enum EnvBenchmark {
    /// Benchmarks `spec` with `copies` sub-envs, next-step autoreset, serial stepping.
    /// - Parameters:
    ///   - seconds: wall time of the timed loop.
    ///   - allocationSteps: vector steps over which allocations are counted.
    ///   - redraw: the share of each step's choices drawn anew (``actionTable(for:rows:seed:redraw:)``).
    public static func run(spec: EnvSpec, copies: Int = 16, seconds: Double = 1, seed: UInt64 = 0,
                           allocationSteps: Int = 2_000, redraw: Double = 1) throws -> EnvBenchmarkResult {
        let vector = spec.makeVector(count: copies, autoreset: .nextStep)
        let buffers = vector.makeBuffers()
        // At most ~32 MB of random choices, at least 64 rows.
        let tableRows = max(64, min(4_096, 4_000_000 / max(1, copies * vector.actionLayout.components)))
        let table = actionTable(for: vector, rows: tableRows, seed: seed, redraw: redraw)
        try vector.reset(seed: seed, into: buffers)
        let allocations = try allocationsPerStep(vector, buffers: buffers, actions: table, steps: allocationSteps)

        let width = copies * vector.actionLayout.components
        let rows = table.count / width
        var vectorSteps = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let budget = UInt64(max(seconds, 0.001) * 1e9)
        var elapsed: UInt64 = 0
        try table.withUnsafeBufferPointer { all in
            repeat {
                for r in 0..<rows {
                    try vector.step(UnsafeBufferPointer(rebasing: all[(r * width)..<((r + 1) * width)]), into: buffers)
                }
                vectorSteps += rows
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            } while elapsed < budget
        }
        return EnvBenchmarkResult(env: spec.id, stepsPerSecond: Double(vectorSteps * copies) / (Double(elapsed) / 1e9),
                                  allocationsPerStep: allocations, copies: copies)
    }

    /// Heap allocations per vector step over `steps` steps of `vector` (already reset),
    /// counted on the calling thread after `warmUp` uncounted steps (which let the runtime
    /// instantiate generic metadata once); `nil` where counting is unsupported.
    public static func allocationsPerStep(_ vector: AnyVectorEnv, buffers: VectorBuffers,
                                          actions: [Int], steps: Int, warmUp: Int = 100) throws -> Double? {
        let width = vector.count * vector.actionLayout.components
        let rows = actions.count / width
        precondition(rows > 0, "EnvBenchmark: need at least one row of actions")
        return try actions.withUnsafeBufferPointer { all -> Double? in
            // The warm-up runs the very code that is counted, so one-time work (generic
            // metadata instantiation in unoptimised builds) happens before counting.
            func run(_ n: Int) throws {
                for k in 0..<n {
                    let r = k % rows
                    try vector.step(UnsafeBufferPointer(rebasing: all[(r * width)..<((r + 1) * width)]), into: buffers)
                }
            }
            try run(warmUp)
            var thrown: Error?
            let count = AllocationCounter.count {
                do { try run(steps) } catch { thrown = error }
            }
            if let thrown { throw thrown }
            return count.map { Double($0) / Double(max(steps, 1)) }
        }
    }

    /// `rows × vector.count` random choice rows (`components` choices each). With `redraw` 1
    /// every choice is drawn uniformly; with `redraw` `p < 1` each choice after the first row
    /// is drawn anew with probability `p` and otherwise repeats the sub-env's previous row, as
    /// a trained serving policy keeps most devices' variants from one interval to the next
    /// (a redrawn choice may draw the same value: a device of `V` variants switches with
    /// probability `p·(V − 1)/V`).
    public static func actionTable(for vector: AnyVectorEnv, rows: Int, seed: UInt64, redraw: Double = 1) -> [Int] {
        var g = SeededGenerator.substream(seed: seed, index: 7)
        let sizes = vector.actionLayout.sizes
        let width = vector.count * sizes.count
        var out = [Int]()
        out.reserveCapacity(rows * width)
        for r in 0..<rows {
            for _ in 0..<vector.count {
                for n in sizes {
                    // The coin is drawn only when `redraw < 1`, so `redraw` 1 keeps the same table.
                    if redraw < 1 && r > 0 && Double.random(in: 0..<1, using: &g) >= redraw {
                        out.append(out[out.count - width])
                    } else {
                        out.append(Int.random(in: 0..<n, using: &g))
                    }
                }
            }
        }
        return out
    }
}
