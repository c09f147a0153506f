import Foundation

// Token-level serving of LLM variants: iteration-level continuous batching as vLLM does it.

extension DiscreteEventEngine {
    // MARK: - Lengths

    /// The pool entry of a request of stream `s` arriving at `a` (a hash of its arrival time).
    @inline(__always)
    func tokenIndex(stream s: Int, arrival a: Double) -> Int {
        let lo = t.tok.poolStart[s]
        return lo + TokenPlan.poolOffset(arrival: a, count: t.tok.poolStart[s + 1] - lo)
    }

    /// KV blocks of `tokens` tokens (`tokens >= 0`) on variant `v`: `ceil(tokens / block)`.
    /// Block sizes are powers of two in practice (vLLM's 16), where a shift replaces the
    /// integer division: the division was the token-level DES's hottest instruction (the
    /// fused decode steps' search sums the blocks of every running sequence), 15% of a
    /// `bench envs` run of llm-zoo.
    @inline(__always)
    func blocksFor(_ tokens: Int32, _ v: Int) -> Int32 {
        let b = Int32(truncatingIfNeeded: t.tok.blockTokens[v])
        let n = tokens &+ b &- 1
        return b & (b &- 1) == 0 ? n >> Int32(truncatingIfNeeded: b.trailingZeroBitCount) : n / b
    }

    // MARK: - Steps

    /// Plans and starts the next step of token-level device `d` at `x` (vLLM's scheduler):
    ///
    /// 1. Without chunked prefill, when waiting requests can be admitted (slots under
    ///    `max_running`, their whole prompts within `max_batched_tokens`, KV blocks for the
    ///    prompt and the first token), the step prefills them and nothing else.
    /// 2. Otherwise every running sequence decodes one token; when the KV blocks for those
    ///    tokens run out, the newest running sequences are preempted (their blocks freed, to
    ///    be recomputed) until the rest fit. With chunked prefill the step's remaining token
    ///    budget then goes to partial prompts, then to newly admitted ones.
    ///
    /// Waiting requests are taken first come first served: preempted ones first, then the
    /// device's queue in arrival order across streams. A request that can never run (its
    /// prompt and output exceed the KV cache, or without chunking its prompt exceeds a step)
    /// is rejected: dropped, with its stream's drop penalty.
    ///
    /// A decode-only step whose set of sequences cannot change before its first completion
    /// (nothing admissible waits) is fused with the steps after it, up to that completion or
    /// until the KV blocks would run out: they all take the same time. An arrival on the
    /// device cuts the fused run at the end of the step in progress (``cutStep(_:at:)``).
    mutating func planStep(_ d: Int, at x: Double) {
        let v = variant[d], R = t.tok.R, base = d * R
        let run = tb.run + base, pre = tb.pre + base
        let kv = Int32(truncatingIfNeeded: t.tok.kvBlocks[v]), maxRun = t.tok.maxRunning[v]
        let budget0 = t.tok.maxTokens[v]
        let chunked = t.tok.chunked[v]
        purge(d, at: x)
        var nr = tb.nRun[d]
        if nr == 0 && tb.nPre[d] == 0 && queued[d] == 0 { tb.stepEnd[d] = .infinity; return }
        var used = Int32(truncatingIfNeeded: tb.used[d])
        var prefill = 0, decode = 0

        if !chunked && (tb.nPre[d] > 0 || queued[d] > 0) && nr < maxRun {
            // A prefill-only step with as many whole prompts as fit.
            var budget = budget0
            let before = nr
            while nr < maxRun {
                guard var q = nextWaiting(d, v: v, at: x) else { break }
                let need = blocksFor(q.target + 1, v)
                // A recomputed prompt (prompt + output so far) may exceed a step's budget: it
                // then runs alone.
                if (Int(q.target) > budget && prefill > 0) || used + need > kv { break }
                takeWaiting(d)
                q.chunk = q.target; q.decoding = false; q.blocks = need
                used += need; budget -= Int(q.target); prefill += Int(q.target)
                run[nr] = q; nr += 1
            }
            if prefill > 0 {
                for k in 0..<before { run[k].decoding = false; run[k].chunk = 0 }
                tb.nRun[d] = nr
                tb.used[d] = Int(used)
                startStep(d, at: x, prefill: prefill, decode: 0, steps: 1)
                return
            }
        }

        // Decode tokens for every sequence past its prefill; preempt the newest until they fit.
        var grow: Int32 = 0
        for k in 0..<nr {
            let q = run[k]
            if q.done == q.target { grow += blocksFor(q.prompt + q.decoded + 1, v) - q.blocks }
        }
        while used + grow > kv && nr > 0 {
            nr -= 1
            var q = run[nr]
            if q.done == q.target { grow -= blocksFor(q.prompt + q.decoded + 1, v) - q.blocks }
            used -= q.blocks
            q.target = q.prompt + q.decoded; q.done = 0; q.blocks = 0; q.chunk = 0; q.decoding = false
            q.preemptions += 1
            pre[tb.nPre[d]] = q
            tb.nPre[d] += 1
            c.preemptions += 1
            lastPreemption = x
        }
        var minLeft = Int32.max
        for k in 0..<nr {
            if run[k].done == run[k].target {
                let nb = blocksFor(run[k].prompt + run[k].decoded + 1, v)
                used += nb - run[k].blocks
                run[k].blocks = nb
                run[k].decoding = true
                run[k].chunk = 0
                decode += 1
                minLeft = min(minLeft, run[k].output - run[k].decoded)
            } else {
                run[k].decoding = false
                run[k].chunk = 0
            }
        }

        if chunked {
            var budget = budget0 - decode
            // Partial prompts first, in admission order.
            var k = 0
            while k < nr && budget > 0 {
                if run[k].done < run[k].target {
                    let c = Int32(min(Int(run[k].target - run[k].done), budget))
                    let after = run[k].done + c
                    let nb = blocksFor(after == run[k].target ? after + 1 : after, v)
                    if used + nb - run[k].blocks > kv { break }
                    used += nb - run[k].blocks
                    run[k].blocks = nb; run[k].chunk = c
                    budget -= Int(c); prefill += Int(c)
                }
                k += 1
            }
            // Then new admissions.
            while budget > 0 && nr < maxRun {
                guard var q = nextWaiting(d, v: v, at: x) else { break }
                let c = Int32(min(Int(q.target), budget))
                let nb = blocksFor(c == q.target ? c + 1 : c, v)
                if used + nb > kv { break }
                takeWaiting(d)
                q.chunk = c; q.decoding = false; q.blocks = nb
                used += nb; budget -= Int(c); prefill += Int(c)
                run[nr] = q; nr += 1
            }
        }
        tb.nRun[d] = nr
        if prefill == 0 && decode == 0 {
            tb.used[d] = Int(used)
            tb.stepEnd[d] = .infinity
            // Every running sequence was preempted: re-admit (recompute) the oldest.
            if nr == 0 && tb.nPre[d] > 0 { planStep(d, at: x) }
            return
        }
        var steps = 1
        if prefill == 0 && minLeft > 1 {
            // Fuse decode steps up to the first completion while the KV blocks last.
            var lo: Int32 = 1, hi = minLeft
            while lo < hi {
                let mid = lo + (hi - lo + 1) / 2
                var need: Int32 = 0
                for k in 0..<nr { need += blocksFor(run[k].prompt + run[k].decoded + mid, v) }
                if need <= kv { lo = mid } else { hi = mid - 1 }
            }
            steps = Int(lo)
            if steps > 1 {
                used = 0
                for k in 0..<nr {
                    run[k].blocks = blocksFor(run[k].prompt + run[k].decoded + lo, v)
                    used += run[k].blocks
                }
            }
        }
        tb.used[d] = Int(used)
        startStep(d, at: x, prefill: prefill, decode: decode, steps: steps)
    }

    @inline(__always)
    mutating func startStep(_ d: Int, at x: Double, prefill: Int, decode: Int, steps: Int) {
        let v = variant[d]
        let dur = t.tok.b0[v] + t.tok.b1[v] * Double(prefill) + t.tok.b2[v] * Double(decode)
        tb.stepStart[d] = x
        tb.stepDur[d] = dur
        tb.stepK[d] = steps
        tb.stepEnd[d] = x + Double(steps) * dur
    }

    /// Ends a fused run of decode steps at the end of the step in progress at `x` (a request
    /// arrived, so the next step may admit it).
    @inline(__always)
    mutating func cutStep(_ d: Int, at x: Double) {
        let k = tb.stepK[d]
        guard k > 1 else { return }
        let s0 = tb.stepStart[d], dur = tb.stepDur[d]
        var j = Int((x - s0) / dur) + 1
        if s0 + Double(j) * dur <= x { j += 1 }
        guard j < k else { return }
        tb.stepK[d] = j
        tb.stepEnd[d] = s0 + Double(j) * dur
    }

    /// Applies the step that ends at `e` on device `d`: prefill progress (a finished prompt
    /// emits the first token), decode tokens, completions (KV blocks freed).
    mutating func finishStep(_ d: Int, at e: Double) {
        let v = variant[d], base = d * t.tok.R
        let run = tb.run + base
        let K = Int32(truncatingIfNeeded: tb.stepK[d])
        tb.stepEnd[d] = .infinity
        c.batches += Int(K)
        var nr = tb.nRun[d]
        var used: Int32 = 0
        var k = 0, w = 0
        while k < nr {
            var q = run[k]
            if q.chunk > 0 {
                q.done += q.chunk
                q.chunk = 0
                if q.done == q.target {
                    q.decoded += 1
                    if q.first < 0 { q.first = e }
                }
            } else if q.decoding {
                q.decoded += K
                q.decoding = false
            }
            if q.decoded >= q.output {
                complete(q, device: d, variant: v, at: e)
            } else {
                q.blocks = blocksFor(q.done < q.target ? q.done : q.prompt + q.decoded, v)
                used += q.blocks
                run[w] = q
                w += 1
            }
            k += 1
        }
        nr = w
        tb.nRun[d] = nr
        tb.used[d] = Int(used)
    }

    /// Counts a finished request.
    @inline(__always)
    mutating func complete(_ q: TokenSequence, device d: Int, variant v: Int, at e: Double) {
        let s = Int(q.stream)
        let due = q.arrival + t.deadline[s]
        let ttft = q.first - q.arrival
        let ttftOK = ttft <= t.tok.ttftDeadline[s]
        recordLatency(e - q.arrival)
        c.served += 1
        c.batchQueries += 1
        c.accuracy += t.accuracy[v]
        c.tokenRequests += 1
        c.ttftSum += ttft
        if q.output > 1 { c.tpotSum += (e - q.first) / Double(q.output - 1); c.tpotRequests += 1 }
        if ttftOK && e <= max(due, dueIntervalEnd(stream: s, arrival: q.arrival)) { c.inDue += 1 }
        if ttftOK && e <= due {
            c.onTime += 1
        } else if e > due {
            c.lateness += latePenalty(stream: s, due: due, finish: e)
        } else {
            // In time end to end but the first token came late: one interval's increment.
            let row = t.penCum + s * (t.K + 1)
            c.lateness += row[min(1, t.dropK[s])] - row[0]
        }
        if recordBatches {
            tokenLog.append(TokenRequestObservation(
                arrival: q.arrival, stream: s, device: d, promptTokens: Int(q.prompt), outputTokens: Int(q.output),
                ttft: ttft, e2e: e - q.arrival, preemptions: Int(q.preemptions)))
        }
    }

    // MARK: - Waiting requests

    /// The next request device `d` would admit (the last preempted, else the earliest arrival
    /// at the head of its queues), without taking it; rejects requests that can never run.
    @inline(__always)
    mutating func nextWaiting(_ d: Int, v: Int, at x: Double) -> TokenSequence? {
        if tb.nPre[d] > 0 { return tb.pre[d * t.tok.R + tb.nPre[d] - 1] }
        let S = t.S, r0 = d * S
        while queued[d] > 0 {
            var bs = -1
            var best = Double.infinity
            for s in 0..<S where ringCount[r0 + s] > 0 {
                let a = ringBuf[r0 + s][ringHead[r0 + s]]
                if a < best { best = a; bs = s }
            }
            let i = tokenIndex(stream: bs, arrival: best)
            let p = t.tok.poolIn[i], o = t.tok.poolOut[i]
            let fits = Int(blocksFor(p + o, v)) <= t.tok.kvBlocks[v] && (t.tok.chunked[v] || Int(p) <= t.tok.maxTokens[v])
            if fits {
                waitingRing = r0 + bs
                return TokenSequence(arrival: best, first: -1, stream: Int32(bs), prompt: p, output: o, target: p)
            }
            _ = ringPop(r0 + bs)
            queued[d] -= 1
            c.rejected += 1
            drop(stream: bs, arrival: best, due: best + t.deadline[bs])
        }
        return nil
    }

    /// Takes the request ``nextWaiting(_:v:at:)`` returned.
    @inline(__always)
    mutating func takeWaiting(_ d: Int) {
        if tb.nPre[d] > 0 { tb.nPre[d] -= 1; return }
        _ = ringPop(waitingRing)
        queued[d] -= 1
    }

    /// On a switch: the device's running and preempted requests go back to its queues (with
    /// their arrival times; their progress is lost, as when an engine is restarted) and its
    /// step ends.
    mutating func abortSequences(_ d: Int) {
        let S = t.S, base = d * t.tok.R
        for k in 0..<tb.nRun[d] {
            let q = tb.run[base + k]
            ringPush(d * S + Int(q.stream), q.arrival)
        }
        for k in 0..<tb.nPre[d] {
            let q = tb.pre[base + k]
            ringPush(d * S + Int(q.stream), q.arrival)
        }
        queued[d] += tb.nRun[d] + tb.nPre[d]
        tb.nRun[d] = 0; tb.nPre[d] = 0; tb.used[d] = 0
        tb.stepEnd[d] = .infinity; tb.stepK[d] = 0
        for s in 0..<S { sortRing(d * S + s) }
    }

    /// At the end of an interval: the lateness increments of running and preempted requests
    /// past their deadline (queued ones are charged by ``scan(at:)``).
    mutating func scanTokens(at x: Double) {
        let R = t.tok.R
        for d in 0..<t.D where tb.nRun[d] + tb.nPre[d] > 0 {
            for k in 0..<(tb.nRun[d] + tb.nPre[d]) {
                let q = k < tb.nRun[d] ? tb.run[d * R + k] : tb.pre[d * R + k - tb.nRun[d]]
                let s = Int(q.stream)
                let due = q.arrival + t.deadline[s]
                if due >= x { continue }
                let row = t.penCum + s * (t.K + 1)
                c.lateness += row[intervalsLate(stream: s, due: due, at: x)] - row[intervalsLate(stream: s, due: due, at: scanTime)]
            }
        }
    }
}
