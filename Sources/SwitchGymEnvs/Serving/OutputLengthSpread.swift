/// How a stream's output lengths spread around their mean: what lets the fluid env charge an
/// LLM cohort's on-time share over its requests' lengths rather than at their mean (issue 11).
///
/// At occupancy `n` a request of `o` output tokens takes one step `B` (its prefill among the
/// other sequences' decodes, ``firstStep(perSequence:running:meanOutput:stepBase:stepPerSequence:)``)
/// and `A` per further token, `A = (L − B) / (ō − 1)` with `L` the latency at the mean lengths
/// (``LLMStepModel/latencyLine(prompt:output:)``): `L(o) = B + A·(o − 1)`, whose mean over the
/// lengths is `L`. Started at `x`, it is on time when `x + L(o) <= due`, i.e. when
/// `Z = o / ō <= z(x) = 1 + (due − L − x) / (A·ō)`, `ō` the mean output
/// (``spread(latency:first:meanOutput:stepBase:)`` is `1 / (A·ō)`). With the part's starts spread
/// evenly over `[x0, x1]`, its on-time share is the mean of `F(z(x))` over them, `F` the CDF of
/// `Z`; `z` is linear in `x`, so that mean is
///
///     (G(z(x0)) − G(z(x1))) / (z(x0) − z(x1)),   G(z) = ∫ F = E[(z − Z)⁺],
///
/// and ``share(high:low:table:top:)`` computes it from a table of `G`. Before, the fluid step gave a
/// cohort the latency of its mean lengths: once `L` passed the deadline it counted the whole
/// cohort late, where the discrete-event fidelity, sizing each request from the same pool
/// (``TokenPlan``), answers the short ones in time (llm-tp, README "Tensor parallelism").
///
/// `Z` is the stream's pool of output lengths (``TokenPlan``) over its mean; an interval whose
/// requests have another mean output keeps that shape, scaled to its mean. `G` is tabulated at
/// knots spaced evenly within each power of two (`2^mantissaBits` per octave, from
/// ``lowest`` up past the pool's largest `Z`, where `G(z) = z − 1` exactly, the mean of `Z` being
/// 1) and interpolated linearly in `z` between them. A knot's index is read off the bits of
/// `z` (its exponent and leading mantissa bits, so no logarithm or square root in the step),
/// and the grid is as fine, relative to `z`, at the short requests as at the long ones.
struct OutputLengthSpread: Sendable {
    /// Knots per power of two of `z`, as mantissa bits (`2^5 = 32`).
    static let mantissaBits: UInt64 = 5
    static let shift: UInt64 = 52 - mantissaBits
    /// The first knot, `2^-20` (a request of one token over a mean of 10^6); below it `G` is
    /// taken linear to 0 at 0.
    static let lowest = 0x1p-20
    static let lowestKey = Int(lowest.bitPattern >> shift)
    /// A mantissa's bits below the knot's, as a fraction of the knots' spacing.
    static let fractionScale = 1 / Double(UInt64(1) << shift)
    /// `table[offset[s] + j]`: `G(z)` of stream `s` at its knot `j`,
    /// `z = Double(bitPattern: UInt64(lowestKey + j) << shift)`.
    let table: [Double]
    /// Per stream: where its knots start in ``table``, and `zmax`, the largest `Z` of its pool.
    let offset: [Int], top: [Double]

    /// The spread of each stream's pool of output lengths, `pool[start[s] ..< start[s + 1]]`.
    init(outputs pool: [Int32], start: [Int]) {
        let S = start.count - 1
        var table: [Double] = [], offset: [Int] = [], top: [Double] = []
        for s in 0..<S {
            offset.append(table.count)
            let lo = start[s], hi = start[s + 1]
            guard hi > lo else {
                // No requests: every z is beyond the (empty) pool, G(z) = z − 1 is never read.
                top.append(0); table.append(0); continue
            }
            var z = pool[lo..<hi].map { Double(max(1, $0)) }
            let mean = z.reduce(0, +) / Double(z.count)
            for i in z.indices { z[i] /= mean }
            z.sort()
            let zmax = max(z[z.count - 1], 1)
            top.append(zmax)
            // G(x) = (count(Z <= x)·x − Σ_{Z <= x} Z) / N at increasing knots, the last past zmax.
            let last = Int(zmax.bitPattern >> Self.shift) + 1
            var k = 0, below = 0.0
            let N = Double(z.count)
            for key in Self.lowestKey...max(last, Self.lowestKey + 1) {
                let x = Double(bitPattern: UInt64(key) << Self.shift)
                while k < z.count && z[k] <= x { below += z[k]; k += 1 }
                table.append((Double(k) * x - below) / N)
            }
        }
        self.table = table
        self.offset = offset
        self.top = top
    }

    /// `G(z) = E[(z − Z)⁺]` of a stream whose knots start at `table` (0 below 0, `z − 1`
    /// from the pool's largest `Z` on).
    @inline(__always)
    static func g(_ z: Double, table: UnsafePointer<Double>, top: Double) -> Double {
        if z <= 0 { return 0 }
        if !(z < top) { return z.isNaN ? 0 : z - 1 }
        if z < lowest { return table[0] * (z / lowest) }
        let bits = z.bitPattern
        let j = Int(bits >> shift) &- lowestKey
        let f = Double(bits & ((1 << shift) - 1)) * fractionScale
        return table[j] + f * (table[j &+ 1] - table[j])
    }

    /// The mean of `F(z)` for `z` spread evenly over `[low, high]`: the on-time share of a part
    /// whose first start has `z(x0) = high` and last `z(x1) = low` (`low <= high`).
    @inline(__always)
    static func share(high: Double, low: Double, table: UnsafePointer<Double>, top: Double) -> Double {
        if low >= top { return 1 }
        if high <= 0 { return 0 }
        // Extreme step models can overflow the slack's scale: a start infinitely early is on
        // time, a NaN one (no slack to measure) is not.
        guard high.isFinite && low.isFinite else { return high == .infinity && !low.isNaN ? 1 : 0 }
        let width = high - low
        if width < 1e-9 {
            // One start time: F at it, as G's slope there.
            let h = 1e-6
            return (g(high + h, table: table, top: top) - g(high - h, table: table, top: top)) / (2 * h)
        }
        let s = (g(high, table: table, top: top) - g(low, table: table, top: top)) / width
        return min(max(s, 0), 1)
    }

    /// `(ō − 1) / (ō·(L − B))`, what turns a part's slack into the output lengths (over their
    /// mean `ō`) still on time. `L` is the latency at the mean lengths and occupancy `n`,
    /// `B = b0 + b1·p + b2·(n − 1)` the one step a request takes whatever its output
    /// (``firstStep(perSequence:running:meanOutput:stepBase:stepPerSequence:)``), and each
    /// further output token takes `A = (L − B) / (ō − 1)`: a request of `o`
    /// output tokens takes `B + A·(o − 1)`, on time from `x` when `o/ō <= 1 + (due − L − x)/(A·ō)`.
    /// Under continuous batching the running requests' prefills are spread over the steps, so
    /// `A` carries them; at one sequence the line is the solo latency's. 0 (charge at `L`
    /// alone) for a fixed-cost variant (`stepBase == 0`), a mean of one output token, or
    /// `L <= B`.
    @inline(__always)
    static func spread(latency L: Double, first B: Double, meanOutput o: Double, stepBase b0: Double) -> Double {
        guard b0 > 0, o > 1, L > B else { return 0 }
        let c = (o - 1) / (o * (L - B))
        return c.isFinite ? c : 0
    }

    /// `B`, the one step a request takes whatever its output: its prefill (`b1·p`, from the
    /// latency line's `perSequence = b1·p + (ō − 1)·b2`) among the other `running − 1`
    /// sequences' decodes. Also the fluid step's time to a request's first token from its start.
    @inline(__always)
    static func firstStep(perSequence: Double, running n: Double, meanOutput o: Double, stepBase b0: Double, stepPerSequence b2: Double) -> Double {
        b0 + (perSequence - (o - 1) * b2) + b2 * (n - 1)
    }

    /// ``share(high:low:table:top:)`` of stream `s` (tests and references).
    func share(stream s: Int, high: Double, low: Double) -> Double {
        table.withUnsafeBufferPointer { t in Self.share(high: high, low: low, table: t.baseAddress! + offset[s], top: top[s]) }
    }
}
