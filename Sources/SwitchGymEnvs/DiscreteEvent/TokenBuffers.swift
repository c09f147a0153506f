/// One request being served by a token-level (LLM) variant: admitted (running) or preempted.
struct TokenSequence {
    /// Arrival time and time of its first output token (-1 before it).
    var arrival = 0.0, first = -1.0
    var stream: Int32 = 0, prompt: Int32 = 0, output: Int32 = 0
    /// Prefill tokens to process: the prompt, or prompt + output so far after a preemption
    /// (recompute).
    var target: Int32 = 0
    /// Prefill tokens processed of ``target``.
    var done: Int32 = 0
    /// Output tokens emitted.
    var decoded: Int32 = 0
    /// KV blocks held.
    var blocks: Int32 = 0
    /// Prefill tokens of the step in progress.
    var chunk: Int32 = 0
    /// Whether it decodes a token in the step in progress.
    var decoding = false
    var preemptions: Int32 = 0
}

/// The per-device state of token-level serving, in manually allocated buffers: `R` sequence
/// slots per device for running sequences (in admission order) and as many for preempted ones
/// (a stack: the last preempted, the oldest, is re-admitted first), the KV blocks in use, and
/// the step in progress (start, duration, steps fused into it, end).
struct TokenBuffers {
    let D: Int, R: Int
    var run: UnsafeMutablePointer<TokenSequence>
    var pre: UnsafeMutablePointer<TokenSequence>
    var nRun: UnsafeMutablePointer<Int>, nPre: UnsafeMutablePointer<Int>, used: UnsafeMutablePointer<Int>
    var stepK: UnsafeMutablePointer<Int>
    var stepStart: UnsafeMutablePointer<Double>, stepDur: UnsafeMutablePointer<Double>
    /// End of the step in progress, `.infinity` when idle (every device has one, token-level or not).
    var stepEnd: UnsafeMutablePointer<Double>

    init(D: Int, R: Int) {
        self.D = D
        self.R = R
        run = .allocate(capacity: max(1, D * R)); pre = .allocate(capacity: max(1, D * R))
        run.initialize(repeating: TokenSequence(), count: max(1, D * R))
        pre.initialize(repeating: TokenSequence(), count: max(1, D * R))
        nRun = .allocate(capacity: D); nPre = .allocate(capacity: D); used = .allocate(capacity: D)
        stepK = .allocate(capacity: D)
        stepStart = .allocate(capacity: D); stepDur = .allocate(capacity: D); stepEnd = .allocate(capacity: D)
        reset()
    }

    func reset() {
        for d in 0..<D {
            nRun[d] = 0; nPre[d] = 0; used[d] = 0; stepK[d] = 0
            stepStart[d] = 0; stepDur[d] = 0; stepEnd[d] = .infinity
        }
    }

    func clone() -> TokenBuffers {
        let c = TokenBuffers(D: D, R: R)
        c.run.update(from: run, count: max(1, D * R)); c.pre.update(from: pre, count: max(1, D * R))
        c.nRun.update(from: nRun, count: D); c.nPre.update(from: nPre, count: D); c.used.update(from: used, count: D)
        c.stepK.update(from: stepK, count: D); c.stepStart.update(from: stepStart, count: D)
        c.stepDur.update(from: stepDur, count: D); c.stepEnd.update(from: stepEnd, count: D)
        return c
    }

    func free() {
        run.deallocate(); pre.deallocate(); nRun.deallocate(); nPre.deallocate(); used.deallocate()
        stepK.deallocate(); stepStart.deallocate(); stepDur.deallocate(); stepEnd.deallocate()
    }
}

/// One request served by a token-level variant (recorded when
/// ``DiscreteEventConfig/recordBatches`` is set).
public struct TokenRequestObservation: Sendable, Equatable, Codable {
    public var arrival: Double
    public var stream: Int
    public var device: Int
    public var promptTokens: Int, outputTokens: Int
    /// Time to first token, end-to-end latency, seconds.
    public var ttft: Double, e2e: Double
    public var preemptions: Int
}
