import Foundation
import Testing
@testable import SwitchGymData

@Suite struct SplitTests {
    func trace() -> Trace {
        let arrivals: [Int64] = [0, 5, 400_000, 699_999, 700_000, 700_000, 850_000, 999_999]
        let ids: [UInt32] = [0, 1, 2, 0, 1, 1, 0, 2]
        return analysisTrace(arrivals, ids: ids, streams: 4, duration: 1_000_000,
                         tokensIn: (1...8).map { Int32($0) }, tokensOut: (11...18).map { Int32($0) },
                         parameters: #"{"seed_note":"x","expand":{"per":"minute"}}"#)
    }

    @Test func countsAddUpAndNothingIsLost() throws {
        let t = trace()
        let (train, held) = try TraceSplit.split(t, trainFraction: 0.7)
        try train.validate(); try held.validate()
        #expect(train.count + held.count == t.count)
        #expect(train.duration == 700_000 && held.duration == 300_000)
        #expect(train.arrivals == [0, 5, 400_000, 699_999])
        #expect(held.arrivals == [0, 0, 150_000, 299_999])
        // Re-joining gives the original back exactly.
        #expect(train.arrivals + held.arrivals.map { $0 + 700_000 } == t.arrivals)
        #expect(train.streamIDs + held.streamIDs == t.streamIDs)
        #expect(train.tokensIn! + held.tokensIn! == t.tokensIn!)
        #expect(train.tokensOut! + held.tokensOut! == t.tokensOut!)
        #expect(train.streams == t.streams && held.streams == t.streams)
    }

    @Test func metadataRecordsTheSplit() throws {
        let (train, held) = try TraceSplit.split(trace(), trainFraction: 0.7)
        let tp = try JSONSerialization.jsonObject(with: Data(train.metadata.parameters.utf8)) as! [String: Any]
        let hp = try JSONSerialization.jsonObject(with: Data(held.metadata.parameters.utf8)) as! [String: Any]
        #expect(tp["split"] as? String == "train" && hp["split"] as? String == "heldout")
        #expect(tp["offset_us"] as? Int == 0 && hp["offset_us"] as? Int == 700_000)
        #expect(hp["train_fraction"] as? Double == 0.7)
        #expect(hp["seed_note"] as? String == "x" && hp["expand"] != nil)
        #expect(train.metadata.startTime == "2024-01-01T00:00:00Z")
        #expect(held.metadata.startTime == "2024-01-01T00:00:00.700000Z")
    }

    @Test func badFractionsThrow() {
        for f in [0.0, 1.0, -0.2, 1.5, .nan, .infinity] {
            #expect(throws: TraceAnalysisError.self) { try TraceSplit.split(trace(), trainFraction: f) }
        }
        let tiny = analysisTrace([0], duration: 1)
        #expect(throws: TraceAnalysisError.self) { try TraceSplit.split(tiny, trainFraction: 0.5) }
    }

    @Test func nonObjectParametersAreKept() throws {
        var t = trace()
        t.metadata.parameters = "[1,2]"
        let (train, _) = try TraceSplit.split(t, trainFraction: 0.5)
        #expect(train.metadata.parameters.contains("\"source_parameters\":[1,2]"))
    }

    @Test func isoTimes() {
        #expect(shiftISO8601("2023-11-16T23:59:59.999999Z", byMicroseconds: 1) == "2023-11-17T00:00:00Z")
        #expect(shiftISO8601("2024-02-28 23:00:00+01:00", byMicroseconds: 86_400_000_000) == "2024-02-29T22:00:00Z")
        #expect(shiftISO8601("", byMicroseconds: 5) == nil)
        #expect(shiftISO8601("yesterday", byMicroseconds: 5) == nil)
    }
}
