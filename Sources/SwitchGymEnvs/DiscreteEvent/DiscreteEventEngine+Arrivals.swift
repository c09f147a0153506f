import Foundation
import SwitchGymCore

// Per-interval query generation: thinning, fine-bin Poisson, per-interval Poisson.

extension DiscreteEventEngine {
    // MARK: - Arrivals

    /// Fills the arrival buffer with interval `row`'s queries (episode times in `[T0, T1)`),
    /// sorted by time, each with its stream.
    mutating func generateArrivals(row: Int, from T0: Double, to T1: Double) {
        arrCount = 0
        switch t.mode {
        case .thinning:
            let offset = Double(start) * t.interval
            let scale = t.scale
            let last = T1.nextDown
            for i in t.intervalFirst[row]..<t.intervalFirst[row + 1] where arrivalRNG.nextUnit() < scale {
                let x = min(max(Double(t.arrivalTimes[i]) * 1e-6 - offset, T0), last)
                emit(x, t.byOrigin ? Int(t.arrivalStreams[i]) : pickStream(arrivalRNG.nextUnit()))
            }
        case .finePoisson:
            let bins = t.binsPerInterval, w = t.binWidth, scale = t.scale
            let rowTotal = t.byOrigin ? rowArrivals(row) : 0
            for j in 0..<bins {
                let count = t.fineCounts[row * bins + j]
                if count == 0 { continue }
                let rate = Double(count) * scale / w
                let b0 = T0 + Double(j) * w
                let b1 = j == bins - 1 ? T1 : b0 + w
                var x = b0
                while true {
                    x += arrivalRNG.nextExponential() / rate
                    if x >= b1 { break }
                    emit(x, t.byOrigin ? pickStream(row: row, arrivalRNG.nextUnit(), total: rowTotal) : pickStream(arrivalRNG.nextUnit()))
                }
            }
        case .intervalPoisson:
            let sum = rowArrivals(row)
            guard sum > 0 else { return }
            let rate = sum / t.interval
            var x = T0
            while true {
                x += arrivalRNG.nextExponential() / rate
                if x >= T1 { break }
                emit(x, pickStream(row: row, arrivalRNG.nextUnit(), total: sum))
            }
        }
    }

    @inline(__always)
    mutating func pickStream(_ u: Double) -> Int {
        var s = 0
        while s < t.S - 1 && u >= t.cumShare[s] { s += 1 }
        return s
    }

    /// Interval `row`'s fluid arrivals over all streams.
    @inline(__always)
    func rowArrivals(_ row: Int) -> Double {
        var sum = 0.0
        for s in 0..<t.S { sum += t.counts[row * t.S + s] }
        return sum
    }

    /// A stream drawn from interval `row`'s own mix (`u` uniform in [0, 1); `total` the row's
    /// arrivals, ``rowArrivals(_:)``).
    @inline(__always)
    func pickStream(row: Int, _ u: Double, total: Double) -> Int {
        let S = t.S
        let target = u * total
        var s = 0
        var acc = t.counts[row * S]
        while s < S - 1 && target >= acc { s += 1; acc += t.counts[row * S + s] }
        return s
    }

    @inline(__always)
    mutating func emit(_ x: Double, _ s: Int) {
        if arrCount == arrCap {
            let cap = arrCap * 2
            let nt = UnsafeMutablePointer<Double>.allocate(capacity: cap)
            let ns = UnsafeMutablePointer<Int32>.allocate(capacity: cap)
            nt.initialize(from: arrTime, count: arrCount); ns.initialize(from: arrStream, count: arrCount)
            arrTime.deallocate(); arrStream.deallocate()
            arrTime = nt; arrStream = ns; arrCap = cap
        }
        arrTime[arrCount] = x
        arrStream[arrCount] = Int32(truncatingIfNeeded: s)
        arrCount += 1
    }
}
