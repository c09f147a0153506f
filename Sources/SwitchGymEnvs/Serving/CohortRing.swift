/// The fluid env's queues: per stream a FIFO ring of cohorts (queries that arrived together
/// and share a deadline), all streams' rings in one flat storage. Both ``FluidQueueing``
/// modes keep their queues here; a cohort's deadline is an interval index with
/// ``FluidQueueing/interval`` queueing and seconds since the episode start with
/// ``FluidQueueing/subinterval``, and within a stream cohorts are in deadline order (they join
/// in arrival order with the stream's one deadline offset).
///
/// The hot loops work on ``Slots`` (``withSlots(_:)``): one uniqueness check per array per
/// step, no bounds checks, no copy-on-write inside the step.
struct CohortRing: Sendable, Equatable {
    /// Slots of each stream's ring and its first slot in the flat arrays.
    let capacity: [Int], offset: [Int]
    /// Per slot: the cohort's deadline and the queries it has left.
    var due: [Double], amount: [Double]
    /// Per slot (sub-interval queueing): the deadline of the cohort's last query, the seconds
    /// its arrivals spread over, and the queries it arrived with. A cohort's queries arrive
    /// spread evenly over its sub-bin and are served in the order they arrived; each is due its
    /// stream's deadline after its own arrival, so with `left` queries still queued the next one
    /// is due `lastDue − span·left/total` (``memberDue(slot:left:)``). Work a switch sent back
    /// arrived long before: all of it due at its mean deadline (`span` 0).
    var lastDue: [Double], span: [Double], total: [Double]
    /// Per slot (sub-interval queueing, ``QueuedDispatch/pinned``): the variant whose devices
    /// the cohort waits on, or -1 when any variant serving its stream may take it. A cohort
    /// joins pooled; a decision that switches devices pins the backlog to the devices that keep
    /// their variant (``FluidServingEnv/pinBacklog()``).
    var pinned: [Int]
    /// Per stream: the ring index of the oldest cohort, and how many cohorts are queued.
    var head: [Int], count: [Int]

    /// Empty rings of `capacities[s]` slots for stream `s`.
    init(capacities: [Int]) {
        capacity = capacities
        var off = [Int](), total = 0
        for c in capacities { off.append(total); total += c }
        offset = off
        // Separate buffers (no shared storage), so no step pays a copy-on-write.
        due = [Double](repeating: 0, count: total)
        amount = [Double](repeating: 0, count: total)
        lastDue = [Double](repeating: 0, count: total)
        span = [Double](repeating: 0, count: total)
        self.total = [Double](repeating: 0, count: total)
        pinned = [Int](repeating: -1, count: total)
        head = [Int](repeating: 0, count: capacities.count)
        count = [Int](repeating: 0, count: capacities.count)
    }

    /// Slots over all streams.
    var slotCount: Int { due.count }

    /// Empties every queue.
    mutating func removeAll() {
        for s in head.indices { head[s] = 0; count[s] = 0 }
    }

    /// Calls `body(due, amount)` for each cohort of stream `s`, oldest first.
    @inline(__always)
    func forEach(stream s: Int, _ body: (Double, Double) -> Void) {
        let cap = capacity[s], off = offset[s]
        var i = head[s]
        for _ in 0..<count[s] {
            body(due[off + i], amount[off + i])
            i = i + 1 == cap ? 0 : i + 1
        }
    }

    /// Whether `head` and `count` describe valid rings of these capacities (a restored state).
    func isValid(head h: [Int], count c: [Int]) -> Bool {
        h.count == capacity.count && c.count == capacity.count
            && capacity.indices.allSatisfy { (capacity[$0] == 0 ? h[$0] == 0 : (0..<capacity[$0]).contains(h[$0])) && (0...capacity[$0]).contains(c[$0]) }
    }

    /// Unchecked access to the storage, valid inside ``withSlots(_:)`` only.
    struct Slots {
        let capacity: UnsafePointer<Int>, offset: UnsafePointer<Int>
        let due: UnsafeMutablePointer<Double>, amount: UnsafeMutablePointer<Double>
        let lastDue: UnsafeMutablePointer<Double>, span: UnsafeMutablePointer<Double>, total: UnsafeMutablePointer<Double>
        let pinned: UnsafeMutablePointer<Int>
        let head: UnsafeMutablePointer<Int>, count: UnsafeMutablePointer<Int>

        /// The flat slot of stream `s`'s `i`-th oldest cohort (`i < capacity[s]`).
        @inline(__always)
        func slot(_ s: Int, _ i: Int) -> Int {
            var j = head[s] &+ i
            if j >= capacity[s] { j &-= capacity[s] }
            return offset[s] &+ j
        }

        /// Appends a cohort to stream `s`'s queue (mean deadline `d`), its arrivals spread over
        /// `span` seconds.
        /// - Precondition: the ring has a free slot (its capacity bounds a cohort's life).
        @inline(__always)
        func append(_ s: Int, due d: Double, amount a: Double, span w: Double = 0) {
            precondition(count[s] < capacity[s], "FluidServingEnv: a queue of cohorts overflowed")
            let i = slot(s, count[s])
            due[i] = d
            amount[i] = a
            lastDue[i] = d + 0.5 * w
            span[i] = w
            total[i] = a
            pinned[i] = -1
            count[s] &+= 1
        }

        /// The deadline of the next query of the cohort in `slot` to be served when `left` of
        /// its queries are queued (each is due its deadline after its own arrival): the first
        /// and the last without a division.
        @inline(__always)
        func memberDue(slot i: Int, left: Double) -> Double {
            let w = span[i]
            if w == 0 || left <= 0 { return lastDue[i] }
            let t = total[i]
            return left >= t ? lastDue[i] - w : lastDue[i] - w * (left / t)
        }

        /// The cohort both queueing modes serve next: among the streams `s < S` whose cursor
        /// `cursor[s]` is before the end of their queue, the one whose cohort at the cursor is
        /// due first (earliest deadline first, as the discrete-event fidelity batches fixed-cost
        /// variants), or with `lead` (each stream's deadline) the one that arrived first, due
        /// minus deadline (first come first served, as the discrete-event fidelity admits LLM
        /// requests, vLLM's default); ties: the lower stream. Returns that cohort's due time;
        /// nil when every cursor is at its queue's end. The sub-interval step passes `lead` for
        /// a token-level model; the interval step serves earliest deadline first always (its
        /// cohorts are whole intervals, so arrival order would be stream order).
        @inline(__always)
        func earliest(streams S: Int, cursor: UnsafeMutableBufferPointer<Int>,
                      lead: UnsafePointer<Double>? = nil) -> (stream: Int, due: Double)? {
            var best = -1, bestKey = Double.infinity, bestDue = 0.0
            for s in 0..<S where cursor[s] < count[s] {
                let d = due[slot(s, cursor[s])]
                let key = lead.map { d - $0[s] } ?? d
                if key < bestKey { best = s; bestKey = key; bestDue = d }
            }
            return best < 0 ? nil : (best, bestDue)
        }

        /// Puts a cohort before stream `s`'s oldest one (work a switch sent back to the queue:
        /// due no later than the cohorts still queued).
        /// - Precondition: the ring has a free slot.
        @inline(__always)
        func prepend(_ s: Int, due d: Double, amount a: Double) {
            precondition(count[s] < capacity[s], "FluidServingEnv: a queue of cohorts overflowed")
            head[s] = head[s] == 0 ? capacity[s] &- 1 : head[s] &- 1
            due[offset[s] &+ head[s]] = d
            amount[offset[s] &+ head[s]] = a
            lastDue[offset[s] &+ head[s]] = d
            span[offset[s] &+ head[s]] = 0
            total[offset[s] &+ head[s]] = a
            pinned[offset[s] &+ head[s]] = -1
            count[s] &+= 1
        }

        /// Removes stream `s`'s oldest cohort.
        @inline(__always)
        func removeFirst(_ s: Int) {
            head[s] = head[s] &+ 1 == capacity[s] ? 0 : head[s] &+ 1
            count[s] &-= 1
        }
    }

    /// Runs `body` with unchecked access to the storage.
    @inline(__always)
    mutating func withSlots<R>(_ body: (Slots) -> R) -> R {
        capacity.withUnsafeBufferPointer { cap in
            offset.withUnsafeBufferPointer { off in
                due.withUnsafeMutableBufferPointer { d in
                    amount.withUnsafeMutableBufferPointer { a in
                        lastDue.withUnsafeMutableBufferPointer { last in
                            span.withUnsafeMutableBufferPointer { w in
                                total.withUnsafeMutableBufferPointer { tot in
                                  pinned.withUnsafeMutableBufferPointer { pin in
                                    head.withUnsafeMutableBufferPointer { h in
                                        count.withUnsafeMutableBufferPointer { c in
                                            body(Slots(capacity: cap.baseAddress!, offset: off.baseAddress!, due: d.baseAddress!,
                                                       amount: a.baseAddress!, lastDue: last.baseAddress!, span: w.baseAddress!,
                                                       total: tot.baseAddress!, pinned: pin.baseAddress!, head: h.baseAddress!,
                                                       count: c.baseAddress!))
                                        }
                                    }
                                  }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
