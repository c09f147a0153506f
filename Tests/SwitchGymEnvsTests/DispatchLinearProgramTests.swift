import Testing
@testable import SwitchGymEnvs

@Suite("Dispatch: LinearProgram")
struct DispatchLinearProgramTests {
    private func close(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool { abs(a - b) <= tol * max(1, abs(b)) }

    /// Hillier and Lieberman's Wyndor Glass problem: max 3x + 5y, x <= 4, 2y <= 12,
    /// 3x + 2y <= 18; optimum (2, 6) with value 36.
    @Test func wyndorGlass() {
        let lp = LinearProgram(
            objective: [-3, -5],
            upperRows: [[1, 0], [0, 2], [3, 2]], upperBounds: [4, 12, 18])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, -36))
        #expect(close(s.x[0], 2) && close(s.x[1], 6))
    }

    /// Covering constraints (>= as negated <=, so phase 1 is needed): min x + y with
    /// x + 2y >= 4, 3x + y >= 6; optimum at the intersection (8/5, 6/5), value 14/5.
    @Test func coveringNeedsPhaseOne() {
        let lp = LinearProgram(
            objective: [1, 1],
            upperRows: [[-1, -2], [-3, -1]], upperBounds: [-4, -6])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, 2.8))
        #expect(close(s.x[0], 1.6) && close(s.x[1], 1.2))
    }

    /// Mixed equality and inequality: min 2x + 3y, x + y >= 10, x − y = 2 → (6, 4), value 24.
    @Test func equalityAndInequality() {
        let lp = LinearProgram(
            objective: [2, 3],
            upperRows: [[-1, -1]], upperBounds: [-10],
            equalityRows: [[1, -1]], equalityBounds: [2])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, 24))
        #expect(close(s.x[0], 6) && close(s.x[1], 4))
    }

    /// A negative equality right-hand side is negated internally: −x − y = −2, min x − y → (0, 2).
    @Test func negativeEqualityRightHandSide() {
        let s = LinearProgram(objective: [1, -1], equalityRows: [[-1, -1]], equalityBounds: [-2]).solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, -2))
        #expect(close(s.x[1], 2))
    }

    /// Redundant equalities leave an artificial in the basis at level zero after phase 1.
    @Test func redundantEqualities() {
        let lp = LinearProgram(
            objective: [1, -1],
            equalityRows: [[1, 1], [2, 2], [1, 1]], equalityBounds: [2, 4, 2])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, -2))
        #expect(close(s.x[0], 0) && close(s.x[1], 2))
    }

    @Test func infeasible() {
        let lp = LinearProgram(
            objective: [1, 1],
            upperRows: [[1, 1], [-1, -1]], upperBounds: [1, -2])
        #expect(lp.solve().status == .infeasible)
        // Equality infeasibility as well: x + y = 1 and x + y = 3.
        let eq = LinearProgram(objective: [0, 0], equalityRows: [[1, 1], [1, 1]], equalityBounds: [1, 3])
        #expect(eq.solve().status == .infeasible)
    }

    @Test func unbounded() {
        let lp = LinearProgram(objective: [-1, 0], upperRows: [[1, -1]], upperBounds: [1])
        let s = lp.solve()
        #expect(s.status == .unbounded)
        #expect(s.objective.isNaN)
    }

    /// Beale's (1955) example cycles forever under Dantzig's rule with a naive tie-break; the
    /// Bland fallback must terminate at the optimum −5/4, x = (1, 0, 1, 0).
    @Test func bealeCyclingExample() {
        let lp = LinearProgram(
            objective: [-0.75, 20, -0.5, 6],
            upperRows: [[0.25, -8, -1, 9], [0.5, -12, -0.5, 3], [0, 0, 1, 0]],
            upperBounds: [0, 0, 1])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, -1.25))
        #expect(close(s.x[0], 1) && close(s.x[2], 1) && close(s.x[1], 0) && close(s.x[3], 0))
    }

    /// Highly degenerate vertex: many constraints active at the origin.
    @Test func degenerateVertex() {
        let lp = LinearProgram(
            objective: [-1, -1],
            upperRows: [[1, -1], [-1, 1], [1, 1], [2, -2], [1, 0]],
            upperBounds: [0, 0, 4, 0, 3])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.objective, -4))
        #expect(close(s.x[0], 2) && close(s.x[1], 2))
    }

    /// Zero objective: any feasible point is optimal; the result must satisfy the constraints.
    @Test func feasibilityOnly() {
        let lp = LinearProgram(
            objective: [0, 0, 0],
            upperRows: [[1, 1, 1]], upperBounds: [5],
            equalityRows: [[1, -1, 0], [0, 1, -1]], equalityBounds: [1, 1])
        let s = lp.solve()
        #expect(s.status == .optimal)
        #expect(close(s.x[0] - s.x[1], 1) && close(s.x[1] - s.x[2], 1))
        #expect(s.x.reduce(0, +) <= 5 + 1e-9)
    }
}
