import CSHA256

/// SHA-256 (FIPS 180-4), used to fingerprint imported source files.
///
/// Uses the x86 SHA extensions (SHA-NI) when the CPU has them, else a portable
/// unrolled implementation.
///
/// Incremental: call ``update(_:)`` with successive pieces, then ``finalize()``.
public struct SHA256: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var pending = [UInt8]()
    private var totalBytes: UInt64 = 0

    /// Set by tests to exercise the portable code on SHA-NI machines.
    private var portable = false

    public init() { pending.reserveCapacity(64) }

    /// A hasher that never uses SHA-NI (to test the portable code).
    init(portable: Bool) {
        self.init()
        self.portable = portable
    }

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex<C: Collection>(of bytes: C) -> String where C.Element == UInt8 {
        var s = SHA256()
        s.update(Array(bytes))
        return s.finalizeHex()
    }

    /// Adds bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        totalBytes &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            offset = take
            if pending.count == 64 {
                pending.withUnsafeBytes { compress(blocks: $0.baseAddress!, count: 1) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (bytes.count - offset) / 64
        if blocks > 0 {
            compress(blocks: bytes.baseAddress! + offset, count: blocks)
            offset += blocks * 64
        }
        if offset < bytes.count { pending.append(contentsOf: bytes[offset...]) }
    }

    /// Adds bytes to the message.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. The hasher must not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        tail.withUnsafeBytes { compress(blocks: $0.baseAddress!, count: tail.count / 64) }
        var out = [UInt8]()
        for w in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            out += [UInt8(w >> 24), UInt8((w >> 16) & 0xff), UInt8((w >> 8) & 0xff), UInt8(w & 0xff)]
        }
        return out
    }

    /// The digest as 64 lowercase hex digits.
    public mutating func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s = [UInt8]()
        for b in finalize() { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }
    @inline(__always) private static func s0(_ x: UInt32) -> UInt32 { rotr(x, 7) ^ rotr(x, 18) ^ (x &>> 3) }
    @inline(__always) private static func s1(_ x: UInt32) -> UInt32 { rotr(x, 17) ^ rotr(x, 19) ^ (x &>> 10) }

    /// One round; the caller rotates the roles of the eight working variables
    /// instead of moving their values.
    @inline(__always)
    private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                              _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ k: UInt32, _ w: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k &+ w
        let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
        d = d &+ t1
        h = t1 &+ t2
    }

    /// Whether the CPU has SHA-NI (checked once).
    static let hardware: Bool = CZlib_sha256_ni_available() != 0

    private mutating func compress(blocks: UnsafeRawPointer, count: Int) {
        if Self.hardware && !portable {
            var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = h
            withUnsafeMutableBytes(of: &state) { raw in
                CZlib_sha256_ni_blocks(raw.baseAddress!.assumingMemoryBound(to: UInt32.self),
                                       blocks.assumingMemoryBound(to: UInt8.self), count)
            }
            h = state
        } else {
            compressPortable(blocks: blocks, count: count)
        }
    }

    /// The portable block function, fully unrolled (generated): the 16-word
    /// message schedule lives in locals.
    private mutating func compressPortable(blocks: UnsafeRawPointer, count: Int) {
        var (a0, b0, c0, d0, e0, f0, g0, h0) = h
        for blk in 0..<count {
            let p = blocks + blk &* 64
            do {
                var w0 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                var w1 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                var w2 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
                var w3 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                var w4 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
                var w5 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
                var w6 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self))
                var w7 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
                var w8 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
                var w9 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
                var w10 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 40, as: UInt32.self))
                var w11 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 44, as: UInt32.self))
                var w12 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 48, as: UInt32.self))
                var w13 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 52, as: UInt32.self))
                var w14 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 56, as: UInt32.self))
                var w15 = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 60, as: UInt32.self))
                var (a, b, c, d, e, f, g, h) = (a0, b0, c0, d0, e0, f0, g0, h0)
                Self.round(a, b, c, &d, e, f, g, &h, 0x428a2f98, w0)
                Self.round(h, a, b, &c, d, e, f, &g, 0x71374491, w1)
                Self.round(g, h, a, &b, c, d, e, &f, 0xb5c0fbcf, w2)
                Self.round(f, g, h, &a, b, c, d, &e, 0xe9b5dba5, w3)
                Self.round(e, f, g, &h, a, b, c, &d, 0x3956c25b, w4)
                Self.round(d, e, f, &g, h, a, b, &c, 0x59f111f1, w5)
                Self.round(c, d, e, &f, g, h, a, &b, 0x923f82a4, w6)
                Self.round(b, c, d, &e, f, g, h, &a, 0xab1c5ed5, w7)
                Self.round(a, b, c, &d, e, f, g, &h, 0xd807aa98, w8)
                Self.round(h, a, b, &c, d, e, f, &g, 0x12835b01, w9)
                Self.round(g, h, a, &b, c, d, e, &f, 0x243185be, w10)
                Self.round(f, g, h, &a, b, c, d, &e, 0x550c7dc3, w11)
                Self.round(e, f, g, &h, a, b, c, &d, 0x72be5d74, w12)
                Self.round(d, e, f, &g, h, a, b, &c, 0x80deb1fe, w13)
                Self.round(c, d, e, &f, g, h, a, &b, 0x9bdc06a7, w14)
                Self.round(b, c, d, &e, f, g, h, &a, 0xc19bf174, w15)
                w0 = w0 &+ Self.s0(w1) &+ w9 &+ Self.s1(w14)
                Self.round(a, b, c, &d, e, f, g, &h, 0xe49b69c1, w0)
                w1 = w1 &+ Self.s0(w2) &+ w10 &+ Self.s1(w15)
                Self.round(h, a, b, &c, d, e, f, &g, 0xefbe4786, w1)
                w2 = w2 &+ Self.s0(w3) &+ w11 &+ Self.s1(w0)
                Self.round(g, h, a, &b, c, d, e, &f, 0x0fc19dc6, w2)
                w3 = w3 &+ Self.s0(w4) &+ w12 &+ Self.s1(w1)
                Self.round(f, g, h, &a, b, c, d, &e, 0x240ca1cc, w3)
                w4 = w4 &+ Self.s0(w5) &+ w13 &+ Self.s1(w2)
                Self.round(e, f, g, &h, a, b, c, &d, 0x2de92c6f, w4)
                w5 = w5 &+ Self.s0(w6) &+ w14 &+ Self.s1(w3)
                Self.round(d, e, f, &g, h, a, b, &c, 0x4a7484aa, w5)
                w6 = w6 &+ Self.s0(w7) &+ w15 &+ Self.s1(w4)
                Self.round(c, d, e, &f, g, h, a, &b, 0x5cb0a9dc, w6)
                w7 = w7 &+ Self.s0(w8) &+ w0 &+ Self.s1(w5)
                Self.round(b, c, d, &e, f, g, h, &a, 0x76f988da, w7)
                w8 = w8 &+ Self.s0(w9) &+ w1 &+ Self.s1(w6)
                Self.round(a, b, c, &d, e, f, g, &h, 0x983e5152, w8)
                w9 = w9 &+ Self.s0(w10) &+ w2 &+ Self.s1(w7)
                Self.round(h, a, b, &c, d, e, f, &g, 0xa831c66d, w9)
                w10 = w10 &+ Self.s0(w11) &+ w3 &+ Self.s1(w8)
                Self.round(g, h, a, &b, c, d, e, &f, 0xb00327c8, w10)
                w11 = w11 &+ Self.s0(w12) &+ w4 &+ Self.s1(w9)
                Self.round(f, g, h, &a, b, c, d, &e, 0xbf597fc7, w11)
                w12 = w12 &+ Self.s0(w13) &+ w5 &+ Self.s1(w10)
                Self.round(e, f, g, &h, a, b, c, &d, 0xc6e00bf3, w12)
                w13 = w13 &+ Self.s0(w14) &+ w6 &+ Self.s1(w11)
                Self.round(d, e, f, &g, h, a, b, &c, 0xd5a79147, w13)
                w14 = w14 &+ Self.s0(w15) &+ w7 &+ Self.s1(w12)
                Self.round(c, d, e, &f, g, h, a, &b, 0x06ca6351, w14)
                w15 = w15 &+ Self.s0(w0) &+ w8 &+ Self.s1(w13)
                Self.round(b, c, d, &e, f, g, h, &a, 0x14292967, w15)
                w0 = w0 &+ Self.s0(w1) &+ w9 &+ Self.s1(w14)
                Self.round(a, b, c, &d, e, f, g, &h, 0x27b70a85, w0)
                w1 = w1 &+ Self.s0(w2) &+ w10 &+ Self.s1(w15)
                Self.round(h, a, b, &c, d, e, f, &g, 0x2e1b2138, w1)
                w2 = w2 &+ Self.s0(w3) &+ w11 &+ Self.s1(w0)
                Self.round(g, h, a, &b, c, d, e, &f, 0x4d2c6dfc, w2)
                w3 = w3 &+ Self.s0(w4) &+ w12 &+ Self.s1(w1)
                Self.round(f, g, h, &a, b, c, d, &e, 0x53380d13, w3)
                w4 = w4 &+ Self.s0(w5) &+ w13 &+ Self.s1(w2)
                Self.round(e, f, g, &h, a, b, c, &d, 0x650a7354, w4)
                w5 = w5 &+ Self.s0(w6) &+ w14 &+ Self.s1(w3)
                Self.round(d, e, f, &g, h, a, b, &c, 0x766a0abb, w5)
                w6 = w6 &+ Self.s0(w7) &+ w15 &+ Self.s1(w4)
                Self.round(c, d, e, &f, g, h, a, &b, 0x81c2c92e, w6)
                w7 = w7 &+ Self.s0(w8) &+ w0 &+ Self.s1(w5)
                Self.round(b, c, d, &e, f, g, h, &a, 0x92722c85, w7)
                w8 = w8 &+ Self.s0(w9) &+ w1 &+ Self.s1(w6)
                Self.round(a, b, c, &d, e, f, g, &h, 0xa2bfe8a1, w8)
                w9 = w9 &+ Self.s0(w10) &+ w2 &+ Self.s1(w7)
                Self.round(h, a, b, &c, d, e, f, &g, 0xa81a664b, w9)
                w10 = w10 &+ Self.s0(w11) &+ w3 &+ Self.s1(w8)
                Self.round(g, h, a, &b, c, d, e, &f, 0xc24b8b70, w10)
                w11 = w11 &+ Self.s0(w12) &+ w4 &+ Self.s1(w9)
                Self.round(f, g, h, &a, b, c, d, &e, 0xc76c51a3, w11)
                w12 = w12 &+ Self.s0(w13) &+ w5 &+ Self.s1(w10)
                Self.round(e, f, g, &h, a, b, c, &d, 0xd192e819, w12)
                w13 = w13 &+ Self.s0(w14) &+ w6 &+ Self.s1(w11)
                Self.round(d, e, f, &g, h, a, b, &c, 0xd6990624, w13)
                w14 = w14 &+ Self.s0(w15) &+ w7 &+ Self.s1(w12)
                Self.round(c, d, e, &f, g, h, a, &b, 0xf40e3585, w14)
                w15 = w15 &+ Self.s0(w0) &+ w8 &+ Self.s1(w13)
                Self.round(b, c, d, &e, f, g, h, &a, 0x106aa070, w15)
                w0 = w0 &+ Self.s0(w1) &+ w9 &+ Self.s1(w14)
                Self.round(a, b, c, &d, e, f, g, &h, 0x19a4c116, w0)
                w1 = w1 &+ Self.s0(w2) &+ w10 &+ Self.s1(w15)
                Self.round(h, a, b, &c, d, e, f, &g, 0x1e376c08, w1)
                w2 = w2 &+ Self.s0(w3) &+ w11 &+ Self.s1(w0)
                Self.round(g, h, a, &b, c, d, e, &f, 0x2748774c, w2)
                w3 = w3 &+ Self.s0(w4) &+ w12 &+ Self.s1(w1)
                Self.round(f, g, h, &a, b, c, d, &e, 0x34b0bcb5, w3)
                w4 = w4 &+ Self.s0(w5) &+ w13 &+ Self.s1(w2)
                Self.round(e, f, g, &h, a, b, c, &d, 0x391c0cb3, w4)
                w5 = w5 &+ Self.s0(w6) &+ w14 &+ Self.s1(w3)
                Self.round(d, e, f, &g, h, a, b, &c, 0x4ed8aa4a, w5)
                w6 = w6 &+ Self.s0(w7) &+ w15 &+ Self.s1(w4)
                Self.round(c, d, e, &f, g, h, a, &b, 0x5b9cca4f, w6)
                w7 = w7 &+ Self.s0(w8) &+ w0 &+ Self.s1(w5)
                Self.round(b, c, d, &e, f, g, h, &a, 0x682e6ff3, w7)
                w8 = w8 &+ Self.s0(w9) &+ w1 &+ Self.s1(w6)
                Self.round(a, b, c, &d, e, f, g, &h, 0x748f82ee, w8)
                w9 = w9 &+ Self.s0(w10) &+ w2 &+ Self.s1(w7)
                Self.round(h, a, b, &c, d, e, f, &g, 0x78a5636f, w9)
                w10 = w10 &+ Self.s0(w11) &+ w3 &+ Self.s1(w8)
                Self.round(g, h, a, &b, c, d, e, &f, 0x84c87814, w10)
                w11 = w11 &+ Self.s0(w12) &+ w4 &+ Self.s1(w9)
                Self.round(f, g, h, &a, b, c, d, &e, 0x8cc70208, w11)
                w12 = w12 &+ Self.s0(w13) &+ w5 &+ Self.s1(w10)
                Self.round(e, f, g, &h, a, b, c, &d, 0x90befffa, w12)
                w13 = w13 &+ Self.s0(w14) &+ w6 &+ Self.s1(w11)
                Self.round(d, e, f, &g, h, a, b, &c, 0xa4506ceb, w13)
                w14 = w14 &+ Self.s0(w15) &+ w7 &+ Self.s1(w12)
                Self.round(c, d, e, &f, g, h, a, &b, 0xbef9a3f7, w14)
                w15 = w15 &+ Self.s0(w0) &+ w8 &+ Self.s1(w13)
                Self.round(b, c, d, &e, f, g, h, &a, 0xc67178f2, w15)
                a0 &+= a; b0 &+= b; c0 &+= c; d0 &+= d; e0 &+= e; f0 &+= f; g0 &+= g; h0 &+= h
            }
        }
        h = (a0, b0, c0, d0, e0, f0, g0, h0)
    }
}
