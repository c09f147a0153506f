import Foundation
import Testing

/// The fidelity gap on the token-level LLM scenarios (`envs fidelity`, issue 11), at bounds loose
/// enough not to move with small model changes and tight enough to fail on the models before
/// the fluid step charged an LLM cohort over its occupancy and its requests' output lengths
/// (README, "On time over the output lengths") and served LLM requests first come first served
/// (README, "First come first served"): the simulations are deterministic, so a bound
/// can only be crossed by a change to either fidelity.
@Suite("switchgym envs fidelity on the LLM scenarios", .serialized)
struct LLMFidelityGapCLITests {
    struct Study: Decodable {
        struct Point: Decodable { var scenario: String; var load: Double; var policy: String; var utilityGap: Double; var goodputGap: Double }
        var points: [Point]
    }

    func study(_ spec: String, loads: String) throws -> [Study.Point] {
        try study(path: packageRoot + "/envs/" + spec, loads: loads)
    }

    func study(path: String, loads: String, policies: String = "static-best", extra: [String] = []) throws -> [Study.Point] {
        let r = try run(["envs", "fidelity", "--env", path, "--loads", loads, "--policies", policies,
                         "--intervals", "300", "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(Study.self, from: Data(r.stdout.utf8)).points
    }

    /// llm-zoo's static-best at half and full capacity: utility within 8% and goodput within 12%
    /// of the discrete-event fidelity (measured +2.9% / +2.0% and +3.4% / +7.9%; with one latency
    /// per cohort at the mean lengths +5.4% / +10.9% and +6.8% / +16.1%).
    @Test func llmZooStaticBestIsCloseAtAndBelowCapacity() throws {
        let points = try study("llm-zoo.toml", loads: "0.5,1")
        #expect(points.count == 2)
        for p in points {
            print("\(p.scenario) load \(p.load) \(p.policy): utility gap \(p.utilityGap), goodput gap \(p.goodputGap)")
            #expect(abs(p.utilityGap) < 0.08, "load \(p.load): utility gap \(p.utilityGap)")
            #expect(abs(p.goodputGap) < 0.12, "load \(p.load): goodput gap \(p.goodputGap)")
        }
    }

    /// llm-tp's static-best at half capacity, where the DES answers the short chat requests of
    /// batches whose mean latency misses the deadline, and admits the TP8 engines' requests first
    /// come first served: utility and goodput within 8% (measured +2.6% and +1.9%; +14.8% and
    /// −11.0% when the fluid step served its queue earliest deadline first, −20.0% goodput when a
    /// cohort was also on time or late as a whole at its mean lengths).
    @Test func llmTPShortRequestsAreOnTime() throws {
        let points = try study("llm-tp.toml", loads: "0.5")
        let p = try #require(points.first)
        print("\(p.scenario) load \(p.load) \(p.policy): utility gap \(p.utilityGap), goodput gap \(p.goodputGap)")
        #expect(abs(p.utilityGap) < 0.08, "utility gap \(p.utilityGap)")
        #expect(abs(p.goodputGap) < 0.08, "goodput gap \(p.goodputGap)")
    }

    /// Reactive on llm-zoo, which switches between the 8B and 70B variants: both fidelities
    /// model the router (`--dispatch`). The default keeps a request on the device it was sent to
    /// (`pinned`): at a switch the backlog stays on the devices that keep their variant, which the
    /// fluid step now pins too (``FluidServingEnv/pinBacklog()``); the router that re-balances at
    /// a switch (`rebalanced`) leaves the fluid queue pooled. Measured at half capacity pinned:
    /// utility +4.6%, goodput +4.2% (+24.2% and +2.9% when the fluid queue stayed pooled against
    /// the pinned DES); at capacity rebalanced: −2.0% and +5.2%. (llm-code shows the pinned change
    /// most, +24.7 / +30.7 / +75.2% -> +5.8 / +0.2 / −3.4%, but its dataset is imported from
    /// ../shared by a script.)
    @Test func reactiveMatchesEitherRouter() throws {
        let path = packageRoot + "/envs/llm-zoo.toml"
        let pinned = try #require(try study(path: path, loads: "0.5", policies: "reactive").first)
        let rebalanced = try #require(try study(path: path, loads: "1", policies: "reactive", extra: ["--dispatch", "rebalanced"]).first)
        print("llm-zoo reactive: pinned load 0.5 utility gap \(pinned.utilityGap), goodput gap \(pinned.goodputGap); rebalanced load 1 \(rebalanced.utilityGap), \(rebalanced.goodputGap)")
        #expect(abs(pinned.utilityGap) < 0.08 && abs(pinned.goodputGap) < 0.08, "pinned: \(pinned)")
        #expect(abs(rebalanced.utilityGap) < 0.08 && abs(rebalanced.goodputGap) < 0.08, "rebalanced: \(rebalanced)")
        // `envs simulate` takes the same option in both fidelities: reactive earns more against
        // the re-balancing router, static-best the same against both.
        func simulated(_ policy: String, _ dispatch: String, fidelity: String = "des") throws -> Double {
            let r = try run(["envs", "simulate", "--env", path, "--policy", policy, "--fidelity", fidelity, "--dispatch", dispatch, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let first = (object?["policies"] as? [[String: Any]])?.first
            return try #require(first?["utility"] as? Double)
        }
        #expect(try simulated("reactive", "rebalanced") > (try simulated("reactive", "pinned")))
        #expect(try simulated("static-best", "rebalanced") == (try simulated("static-best", "pinned")))
        #expect(try simulated("reactive", "rebalanced", fidelity: "fluid") > (try simulated("reactive", "pinned", fidelity: "fluid")))
        #expect(try simulated("static-best", "rebalanced", fidelity: "fluid") == (try simulated("static-best", "pinned", fidelity: "fluid")))
        let bad = try run(["envs", "fidelity", "--env", path, "--loads", "1", "--dispatch", "sideways"])
        #expect(bad.status != 0 && bad.stderr.contains("sideways"), "\(bad.stderr)")
    }

    /// Reactive on llm-zoo at 1.5 times capacity, pinned: a device that switches to the 70B
    /// serves the fresh batch requests while the backlog stays on the devices that kept the 70B
    /// (``SwitchCarry/tenured``), so utility stays within 10% and goodput within 8% of the
    /// discrete-event fidelity (measured +4.0% and −0.9%; −39.5% and −22.8% when every 70B device
    /// served the pinned backlog).
    @Test func overloadedReactiveLeavesTheBacklogToTheTenuredDevices() throws {
        let p = try #require(try study(path: packageRoot + "/envs/llm-zoo.toml", loads: "1.5", policies: "reactive").first)
        print("llm-zoo reactive at load 1.5, pinned: utility gap \(p.utilityGap), goodput gap \(p.goodputGap)")
        #expect(abs(p.utilityGap) < 0.10 && abs(p.goodputGap) < 0.08, "\(p)")
    }

    /// llm-zoo with an 800 ms first-token deadline on chat (`ttft_deadline_ms`): the fluid step
    /// charges it too, so static-best's utility stays within 20% and its goodput within 25% of the
    /// discrete-event fidelity at half and full capacity (measured +4.8% / +10.3% and +6.2% /
    /// +16.6%; a fluid step ignoring the deadline gave +15.6% / +43.4% and +21.4% / +45.6%).
    @Test func firstTokenDeadlinesAreChargedByBothFidelities() throws {
        let dir = try scratch(); defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: packageRoot + "/envs/llm-zoo.toml", encoding: .utf8)
            .replacingOccurrences(of: "../datasets/default.h5", with: packageRoot + "/datasets/default.h5")
            .replacingOccurrences(of: "deadline_ms = 5000.0", with: "deadline_ms = 5000.0\nttft_deadline_ms = 800.0")
        #expect(text.contains("ttft_deadline_ms = 800.0"), "the premise: chat's deadline line")
        try write(text, dir + "/spec.toml")
        let points = try study(path: dir + "/spec.toml", loads: "0.5,1")
        #expect(points.count == 2)
        for p in points {
            print("llm-zoo ttft 800 ms load \(p.load) \(p.policy): utility gap \(p.utilityGap), goodput gap \(p.goodputGap)")
            #expect(abs(p.utilityGap) < 0.20, "load \(p.load): utility gap \(p.utilityGap)")
            #expect(abs(p.goodputGap) < 0.25, "load \(p.load): goodput gap \(p.goodputGap)")
        }
    }
}
