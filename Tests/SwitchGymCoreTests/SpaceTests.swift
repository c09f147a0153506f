import Testing
import SwitchGymCore

@Suite("Spaces")
struct SpaceTests {
    @Test func discreteContainsAndStart() throws {
        let d = Discrete(3, start: -1)
        #expect(d.contains(-1) && d.contains(1))
        #expect(!d.contains(2) && !d.contains(-2))
        try d.validate()
        #expect(throws: EnvError.self) { try Discrete(0).validate() }
    }

    @Test func discreteSampleIsSeededAndInside() {
        let d = Discrete(5, start: 10)
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        let xs = (0..<200).map { _ in d.sample(using: &a) }
        let ys = (0..<200).map { _ in d.sample(using: &b) }
        #expect(xs == ys)
        #expect(xs.allSatisfy(d.contains))
        #expect(Set(xs).count == 5)
    }

    @Test func discreteMaskIsRespected() throws {
        let d = Discrete(4)
        var g = SeededGenerator(seed: 1)
        let mask = [false, true, false, true]
        var seen = Set<Int>()
        for _ in 0..<200 { seen.insert(try d.sample(mask: mask, using: &g)) }
        #expect(seen == [1, 3])
        #expect(try d.sample(mask: [false, false, true, false], using: &g) == 2)
        let allFalse = #expect(throws: EnvError.self) { try d.sample(mask: [false, false, false, false], using: &g) }
        #expect(allFalse?.code == .invalidMask)
        let wrongSize = #expect(throws: EnvError.self) { try d.sample(mask: [true], using: &g) }
        #expect(wrongSize?.code == .invalidMask)
    }

    @Test func multiDiscrete() throws {
        let m = MultiDiscrete([2, 3])
        #expect(m.contains([1, 2]) && !m.contains([2, 0]) && !m.contains([0]))
        var g = SeededGenerator(seed: 3)
        for _ in 0..<50 { #expect(m.contains(m.sample(using: &g))) }
        for _ in 0..<50 { #expect(try m.sample(mask: [nil, [false, false, true]], using: &g)[1] == 2) }
        #expect(throws: EnvError.self) { try m.sample(mask: [nil, [false, false, false]], using: &g) }
        #expect(throws: EnvError.self) { try MultiDiscrete([2, 0]).validate() }
    }

    @Test func boxContainsAndSample() throws {
        let b = Box(low: [-1, 0, -.infinity, 0], high: [1, 0, .infinity, .infinity])
        try b.validate()
        #expect(b.contains([0, 0, 1e30, 5]))
        #expect(!b.contains([2, 0, 0, 0]))
        #expect(!b.contains([0, 0, .nan, 0]))
        #expect(!b.contains([0, 0, 0]))
        var g = SeededGenerator(seed: 9)
        for _ in 0..<500 { #expect(b.contains(b.sample(using: &g))) }
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        #expect(b.sample(using: &g1) == b.sample(using: &g2))
        #expect(throws: EnvError.self) { try Box(low: [1], high: [0]).validate() }
        #expect(throws: EnvError.self) { try Box(low: [0, 0], high: [1, 1], shape: [3]).validate() }
        #expect(Box(low: 0, high: 1, shape: [2, 3]).count == 6)
    }
}
