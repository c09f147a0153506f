import Foundation
import Testing
import SwitchGymCore
@testable import SwitchGymEnvs

/// Block-bootstrap resampling of the training trace (`[training] block_bootstrap`,
/// ``BlockBootstrap``): the spec key is read and bounds-checked, blocks have the mean length
/// asked for, every resampled interval is one source interval moved whole (counts, raw arrival
/// offsets, streams, tokens), resamples follow the seed, and only training envs resample, with
/// the trace's own normalisation and episode length.
@Suite struct BlockBootstrapTests {
    static let base = "extends = \"vision-zoo.toml\"\n"

    @Test func theSpecKeyIsReadIntoTheScenario() throws {
        let sc = try ScenarioFixtures.parseSpec(Self.base + "[training]\nblock_bootstrap = 4.0\n")
        #expect(sc.trainingBlockBootstrap == BlockBootstrap(meanBlock: 4))
        #expect(try ScenarioFixtures.parseSpec(Self.base).trainingBlockBootstrap == nil)
    }

    @Test func theEmptyFractionKeyIsReadWithOrWithoutBlocks() throws {
        let alone = try ScenarioFixtures.parseSpec(Self.base + "[training]\nempty_fraction = [0.2, 0.6]\n")
        #expect(alone.trainingBlockBootstrap == BlockBootstrap(meanBlock: BlockBootstrap.wholeTrace, emptyFraction: 0.2...0.6))
        let both = try ScenarioFixtures.parseSpec(Self.base + "[training]\nblock_bootstrap = 3.0\nempty_fraction = [0.1, 0.5]\n")
        #expect(both.trainingBlockBootstrap == BlockBootstrap(meanBlock: 3, emptyFraction: 0.1...0.5))
        let key = "training.empty_fraction"
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nempty_fraction = [0.6, 0.2]\n", key: key, contains: "low <= high")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nempty_fraction = [0.2, 1.0]\n", key: key + "[1]", contains: "[0, 0.95]")
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nempty_fraction = [0.2]\n", key: key, contains: "length")
    }

    @Test func badBlockLengthsAreErrorsNamingTheKey() {
        let key = "training.block_bootstrap"
        for bad in ["0.5", "0", "-2", "1e9"] {
            ScenarioFixtures.expectSpecError(Self.base + "[training]\nblock_bootstrap = \(bad)\n", key: key, contains: "[1, 1000000]")
        }
        ScenarioFixtures.expectSpecError(Self.base + "[training]\nblock_bootstrap = \"long\"\n", key: key, contains: "number")
        var sc = try? ScenarioFixtures.parseSpec(Self.base)
        sc?.trainingBlockBootstrap = BlockBootstrap(meanBlock: 4, replicas: 0)
        #expect(throws: ScenarioError.self) { try sc?.validate() }
    }

    /// Continuations (`i + 1` after `i`) have the frequency `1 - 1/meanBlock` (plus the
    /// chance that a new block starts right after), every index is in range, and the draws
    /// follow the generator.
    @Test(arguments: [1.0, 2.0, 4.0, 12.0])
    func blocksHaveTheMeanLengthAskedFor(meanBlock: Double) {
        let T = 50, n = 40_000
        let b = BlockBootstrap(meanBlock: meanBlock)
        var g = SeededGenerator(seed: 11), h = SeededGenerator(seed: 11)
        let map = b.sourceIntervals(count: n, of: T, using: &g)
        #expect(map == b.sourceIntervals(count: n, of: T, using: &h))
        #expect(map.allSatisfy { (0..<T).contains($0) })
        let continued = Double(zip(map, map.dropFirst()).filter { ($0.0 + 1) % T == $0.1 }.count) / Double(n - 1)
        let expected = (1 - 1 / meanBlock) + (1 / meanBlock) / Double(T)
        #expect(abs(continued - expected) < 0.015, "meanBlock \(meanBlock): \(continued) vs \(expected)")
        // Every source interval is drawn about equally often (stationarity of the circular scheme).
        var visits = [Int](repeating: 0, count: T)
        for i in map { visits[i] += 1 }
        #expect(visits.min()! > n / T / 2 && visits.max()! < 2 * n / T, "\(visits)")
    }

    /// A trace with raw arrivals, two streams chosen per arrival, and tokens.
    static func rawArrivals(intervals T: Int, interval: Double, seed: UInt64) -> ScenarioArrivals {
        var g = SeededGenerator(seed: seed)
        let width = interval * 1e6
        var times: [Int64] = [], streams: [UInt8] = []
        for t in 0..<T where t % 5 != 3 {   // some empty intervals
            for _ in 0..<Int.random(in: 1...30, using: &g) {
                times.append(Int64(Double(t) * width) + Int64.random(in: 0..<Int64(width), using: &g))
            }
        }
        times.sort()
        for _ in times { streams.append(UInt8.random(in: 0...1, using: &g)) }
        var a = ScenarioArrivals(arrivalTimes: times, arrivalStreams: streams, streams: 2, duration: Int64(Double(T) * width),
                                 interval: interval, rateScale: 1.5)
        a.tokensIn = times.map { _ in Int32.random(in: 1...5000, using: &g) }
        a.tokensOut = times.map { _ in Int32.random(in: 1...500, using: &g) }
        return a
    }

    /// The raw arrivals of each interval: (offset in the interval µs, stream, tokens in, tokens out).
    static func perInterval(_ a: ScenarioArrivals, interval: Double) -> [[[Int64]]] {
        let width = interval * 1e6
        var out = [[[Int64]]](repeating: [], count: a.intervals)
        for (k, x) in a.arrivalTimes.enumerated() {
            let t = min(a.intervals - 1, Int(Double(x) / width))
            out[t].append([x - Int64(Double(t) * width), Int64(a.arrivalStreams[k]), Int64(a.tokensIn[k]), Int64(a.tokensOut[k])])
        }
        return out
    }

    @Test func eachResampledIntervalIsOneSourceIntervalMovedWhole() {
        let T = 23, interval = 30.0
        let source = Self.rawArrivals(intervals: T, interval: interval, seed: 3)
        let b = BlockBootstrap(meanBlock: 3, replicas: 5)
        var g = SeededGenerator(seed: 9), h = SeededGenerator(seed: 9)
        let out = b.resample(source, interval: interval, using: &g)
        let map = b.sourceIntervals(count: T * 5, of: T, using: &h)
        #expect(out.intervals == T * 5 && out.streams == 2)
        #expect(out.arrivalTimes.count == out.arrivalStreams.count && out.tokensIn.count == out.arrivalTimes.count
                && out.tokensOut.count == out.arrivalTimes.count)
        #expect(zip(out.arrivalTimes, out.arrivalTimes.dropFirst()).allSatisfy { $0.0 <= $0.1 }, "arrival times stay sorted")
        let was = Self.perInterval(source, interval: interval), now = Self.perInterval(out, interval: interval)
        for (j, i) in map.enumerated() {
            #expect(Array(out.counts[j * 2..<j * 2 + 2]) == Array(source.counts[i * 2..<i * 2 + 2]), "interval \(j) from \(i)")
            #expect(now[j] == was[i], "interval \(j)'s raw arrivals are source interval \(i)'s")
        }
        // The same seed gives the same resample; another seed another one.
        var g2 = SeededGenerator(seed: 9), g3 = SeededGenerator(seed: 10)
        #expect(b.resample(source, interval: interval, using: &g2) == out)
        #expect(b.resample(source, interval: interval, using: &g3).counts != out.counts)
    }

    /// Each copy reaches its target fraction of empty intervals by emptying whole intervals
    /// (counts and raw arrivals), keeps its total, scales its other intervals by one factor,
    /// and is left as it is when it already has that many empty intervals.
    @Test func emptyIntervalsAreInjectedAtAnUnchangedTotal() {
        let T = 40, interval = 30.0, copies = 6
        let source = Self.rawArrivals(intervals: T, interval: interval, seed: 5)   // 8 of 40 intervals empty
        let plain = BlockBootstrap(meanBlock: 4, replicas: copies)
        var injecting = plain
        injecting.emptyFraction = 0.5...0.5
        var g = SeededGenerator(seed: 21), h = SeededGenerator(seed: 21), k = SeededGenerator(seed: 21)
        let reference = plain.resample(source, interval: interval, using: &g)
        let out = injecting.resample(source, interval: interval, using: &h)
        let map = plain.sourceIntervals(count: T * copies, of: T, using: &k)
        let was = Self.perInterval(source, interval: interval), now = Self.perInterval(out, interval: interval)
        for r in 0..<copies {
            let rows = r * T..<(r + 1) * T
            func total(_ a: ScenarioArrivals) -> Double { rows.reduce(0) { $0 + a.counts[$1 * 2] + a.counts[$1 * 2 + 1] } }
            #expect(abs(total(out) - total(reference)) <= 1e-9 * total(reference), "copy \(r) keeps its total")
            let empty = rows.filter { out.counts[$0 * 2] == 0 && out.counts[$0 * 2 + 1] == 0 }
            #expect(empty.count == T / 2, "copy \(r): \(empty.count) empty intervals")
            var scale: Double?
            for j in rows {
                if empty.contains(j) {
                    #expect(now[j].isEmpty, "an emptied interval loses its raw arrivals")
                    continue
                }
                #expect(now[j] == was[map[j]])
                for s in 0..<2 where reference.counts[j * 2 + s] > 0 {
                    let f = out.counts[j * 2 + s] / reference.counts[j * 2 + s]
                    if let scale { #expect(abs(f - scale) < 1e-9) } else { scale = f }
                }
            }
            #expect(scale.map { $0 > 1 } ?? false, "the rest carries the emptied intervals' load")
        }
        // A target below the trace's own fraction changes nothing.
        injecting.emptyFraction = 0...0.1
        var g2 = SeededGenerator(seed: 21)
        #expect(injecting.resample(source, interval: interval, using: &g2).counts == reference.counts)
    }

    /// Only training envs resample (from the run's seed), with the trace's normalisation,
    /// episode length and reward scale; evaluation replays the trace as it is.
    @Test func trainingEnvsResampleFromTheSeedAndEvaluationNever() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bootstrap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = dir.appendingPathComponent("bb.toml").path
        let root = ScenarioFixtures.packageRoot
        try ("extends = \"\(root)/envs/vision-zoo.toml\"\nepisode_intervals = 20\n[trace]\ndataset = \"\(root)/datasets/default.h5\"\n"
             + "[training]\nblock_bootstrap = 4.0\n")
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let (_, training) = try EnvResolver.scenarioSpec(path: spec, training: true, seed: 1)
        let (_, again) = try EnvResolver.scenarioSpec(path: spec, training: true, seed: 1)
        let (_, other) = try EnvResolver.scenarioSpec(path: spec, training: true, seed: 2)
        let (_, evaluation) = try EnvResolver.scenarioSpec(path: spec, training: false, seed: 1)
        #expect(training.intervalCount == BlockBootstrap.defaultReplicas * evaluation.intervalCount)
        #expect(training.counts == again.counts && training.counts != other.counts)
        #expect(evaluation.arrivals == (try ScenarioSpec.load(path: spec).loadArrivals(overridePath: nil)))
        #expect(training.normalization == evaluation.normalization)
        #expect(training.episodeLength == evaluation.episodeLength && training.episodeLength == 20)
        #expect(training.rewardScale == ServingModel.trainingRewardScale(arrivals: evaluation.arrivals))
        // Every training interval's arrivals are one of the trace's.
        let S = evaluation.streamCount
        let rows = Set((0..<evaluation.intervalCount).map { Array(evaluation.counts[$0 * S..<($0 + 1) * S]) })
        #expect((0..<training.intervalCount).allSatisfy { rows.contains(Array(training.counts[$0 * S..<($0 + 1) * S])) })
        // A training env plays episodes of the trace's length with random starts over the resample.
        var env = FluidServingEnv(model: training, seed: 4)
        _ = try env.reset(seed: 4)
        var steps = 0, done = false
        while !done { let r = try env.step(training.scenario.initialVariants); steps += 1; done = r.terminated || r.truncated }
        #expect(steps == 20)
    }
}
