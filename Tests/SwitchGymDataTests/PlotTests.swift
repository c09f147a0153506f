import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SwitchGymData

@Suite struct PlotTests {
    func polylinePointCounts(_ svg: String) -> [Int] {
        svg.components(separatedBy: "<polyline").dropFirst().map { chunk in
            let start = chunk.range(of: "points=\"")!.upperBound
            let end = chunk[start...].firstIndex(of: "\"")!
            return chunk[start..<end].split(separator: " ").count
        }
    }

    @Test func standaloneSVGWithOnePointPerWindow() throws {
        var arr: [Int64] = [], ids: [UInt32] = []
        for i in 0..<3000 { arr.append(Int64(i) * 200_000 + Int64(i % 7)); ids.append(UInt32(i % 5 == 0 ? 1 : i % 3 == 0 ? 2 : 0)) }
        let t = analysisTrace(arr, ids: ids, streams: 6, duration: 600_500_000)  // 600.5 s -> 61 windows of 10 s
        let svg = try RatePlot.svg(t, windowSeconds: 10, streams: 2)
        #expect(svg.contains("<svg") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\"") && svg.hasSuffix("</svg>\n"))
        #expect(polylinePointCounts(svg) == [61, 61, 61])  // two streams + overall
        #expect(svg.contains("time (min)") && svg.contains("request rate (req/s)"))
        #expect(svg.contains("4 more streams"))
        // Balanced tags for the elements we open.
        for tag in ["g", "polyline", "svg"] {
            #expect(svg.components(separatedBy: "<\(tag)").count - 1 == svg.components(separatedBy: "</\(tag)>").count - 1, "tag \(tag)")
        }
        #expect(analysisParseXML(svg).first == "svg")
    }

    @Test func parsesAsXML() throws {
        let t = analysisTrace([0, 10, 2_000_000], duration: 3_000_000)
        let svg = try RatePlot.svg(t, windowSeconds: 1, title: "Rates <ours> & \"theirs\"")
        let elements = analysisParseXML(svg)
        #expect(elements.first == "svg" && elements.contains("polyline") && elements.contains("text"))
        #expect(svg.contains("Rates &lt;ours&gt; &amp; &quot;theirs&quot;"))
        #expect(!svg.contains("<ours>"))
        #expect(polylinePointCounts(svg) == [3])  // one stream: overall only
    }

    @Test func badArgumentsThrow() {
        let t = analysisTrace([0], duration: 1_000_000_000)
        #expect(throws: TraceAnalysisError.self) { try RatePlot.svg(t, windowSeconds: 0) }
        #expect(throws: TraceAnalysisError.self) { try RatePlot.svg(t, windowSeconds: 0.001) }  // 1M windows
        #expect(throws: TraceAnalysisError.self) { try RatePlot.svg(t, windowSeconds: 1, streams: -1) }
    }

    @Test func ticks() {
        #expect(niceTicks(upTo: 57) == [0, 10, 20, 30, 40, 50])
        #expect(niceTicks(upTo: 1.2).count >= 5)
    }
}

final class AnalysisXMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(elementName)
    }
}

/// Element names in document order, or [] when the text is not well-formed XML.
func analysisParseXML(_ text: String) -> [String] {
    let parser = XMLParser(data: Data(text.utf8))
    let c = AnalysisXMLCollector()
    parser.delegate = c
    return parser.parse() ? c.elements : []
}

@Suite struct RealTracePlotTests {
    @Test func plotsTheRealLLMTrace() throws {
        guard let path = azureLLMCodeTracePath() else { return }
        let t = try loadAzureLLMForTests(path)
        let svg = try RatePlot.svg(t, windowSeconds: 10)
        #expect(analysisParseXML(svg).first == "svg")
        #expect(svg.contains("points=\"") && svg.contains("time (min)"))
        let out = NSTemporaryDirectory() + "switchgym-llm-rate.svg"
        try svg.write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(out)")
    }

    @Test func plotsTheRealFunctionsSample() throws {
        guard let path = azureFunctionsSamplePath() else { return }
        let t = try loadAzureFunctionsForTests(path)
        let svg = try RatePlot.svg(t, windowSeconds: 60, streams: 4)
        #expect(analysisParseXML(svg).first == "svg")
        #expect(svg.contains("time (h)") && svg.contains("496 more streams"))
        let out = NSTemporaryDirectory() + "switchgym-functions-rate.svg"
        try svg.write(toFile: out, atomically: true, encoding: .utf8)
        print("wrote \(out)")
    }
}
