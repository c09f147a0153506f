import Testing
@testable import SwitchGymIO

@Suite("SHA-256 implementations agree")
struct SHA256ImplementationTests {
    @Test("SHA-NI (when present) and the portable code give the same digests", arguments: [0, 1, 55, 56, 63, 64, 65, 1000, 100_003])
    func agree(length: Int) {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(length + 1)
        let data = (0..<length).map { _ -> UInt8 in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
        var fast = SHA256()
        fast.update(data)
        var portable = SHA256(portable: true)
        portable.update(data)
        #expect(fast.finalizeHex() == portable.finalizeHex())
    }

    @Test("the portable code matches the FIPS 180-4 vectors")
    func portableVectors() {
        var s = SHA256(portable: true)
        s.update(Array("abc".utf8))
        #expect(s.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var t = SHA256(portable: true)
        t.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(t.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
