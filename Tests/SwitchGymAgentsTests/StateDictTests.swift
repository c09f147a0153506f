import Testing
import SwitchGymCore

@Suite struct StateDictTests {
    @Test func prefixedMergeAndSubsetRoundTrip() throws {
        var inner = StateDict()
        inner.floats["w"] = [1, 2, 3]
        inner.setGenerator(SeededGenerator(seed: 7), at: "rng")
        var outer = StateDict()
        outer.merge(inner, prefix: "policy")
        #expect(outer.keys == ["policy/rng", "policy/w"])
        let back = outer.subset("policy")
        #expect(back == inner)
        #expect(try back.generator("rng") == SeededGenerator(seed: 7))
    }

    @Test func missingAndMisshapenEntriesNameTheKey() {
        var d = StateDict()
        d.floats["w"] = [1, 2]
        #expect(throws: StateDictError.shape(key: "w", expected: 3, found: 2)) { try d.floats("w", count: 3) }
        #expect(throws: StateDictError.missing(key: "b", kind: "float32 array")) { try d.floats("b") }
    }
}
