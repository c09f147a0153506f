#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The classic cart-pole balancing task with exactly Gymnasium's dynamics
/// (`gymnasium/envs/classic_control/cartpole.py`, `CartPoleEnv`, Gymnasium 1.x).
///
/// State `(x, ẋ, θ, θ̇)` is kept in `Double` (Gymnasium stores a float64 array) and observed
/// as `Float` (Gymnasium returns `np.array(state, dtype=np.float32)`). Action 0 pushes left,
/// 1 pushes right with ``Configuration/forceMagnitude``. The equations are Florian (2005),
/// "Correct equations for the dynamics of the cart-pole system", integrated with explicit Euler.
///
/// Reward is 1 per step, including the terminating step; steps after termination
/// (undefined behaviour in Gymnasium) give 0. The episode terminates when `|x| > 2.4`
/// or `|θ| > 12°`. `CartPole-v1` in ``EnvRegistry`` adds ``TimeLimit`` at 500 steps,
/// as Gymnasium's registration does.
public struct CartPole: SimpleVectorizableEnv, Sendable {
    /// The physical constants, Gymnasium's defaults.
    public struct Configuration: Sendable, Equatable, Codable {
        /// Gravitational acceleration (m/s²).
        public var gravity = 9.8
        /// Cart mass (kg).
        public var massCart = 1.0
        /// Pole mass (kg).
        public var massPole = 0.1
        /// Half the pole's length (m).
        public var length = 0.5
        /// Magnitude of the push (N).
        public var forceMagnitude = 10.0
        /// Seconds between state updates.
        public var tau = 0.02
        /// Pole angle beyond which the episode terminates (radians): 12°.
        public var thetaThreshold = 12 * 2 * Double.pi / 360
        /// Cart position beyond which the episode terminates (m).
        public var xThreshold = 2.4
        /// Reset draws each state entry uniformly from `-resetBound ..< resetBound`.
        public var resetBound = 0.05

        public init() {}
    }

    /// The physical constants.
    public let configuration: Configuration
    /// `(x, ẋ, θ, θ̇)`, in Double as Gymnasium keeps it.
    public private(set) var state: (Double, Double, Double, Double) = (0, 0, 0, 0)
    public var isReady = false
    private var generator: SeededGenerator
    private var terminatedAlready = false
    private let totalMass: Double
    private let poleMassLength: Double

    /// Creates the env; `seed` seeds the generator used by resets without a seed.
    public init(configuration: Configuration = Configuration(), seed: UInt64 = 0) {
        self.configuration = configuration
        self.generator = SeededGenerator(seed: seed)
        self.totalMass = configuration.massPole + configuration.massCart
        self.poleMassLength = configuration.massPole * configuration.length
    }

    /// `Box(-high, high)` with `high = [2 x_thr, inf, 2 θ_thr, inf]` in float32.
    public var observationSpace: Box {
        let high: [Float] = [Float(configuration.xThreshold * 2), .infinity,
                             Float(configuration.thetaThreshold * 2), .infinity]
        return Box(low: high.map { -$0 }, high: high)
    }

    /// `Discrete(2)`: 0 pushes left, 1 pushes right.
    public var actionSpace: Discrete { Discrete(2) }

    public var observationDimension: Int { 4 }

    public mutating func resetState(seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
        let b = configuration.resetBound
        // np_random.uniform(low, high) = low + (high - low) * U[0, 1)
        let a = -b + 2 * b * generator.nextUnit()
        let c = -b + 2 * b * generator.nextUnit()
        let d = -b + 2 * b * generator.nextUnit()
        let e = -b + 2 * b * generator.nextUnit()
        state = (a, c, d, e)
        terminatedAlready = false
    }

    @inline(__always)
    public func writeObservation(into destination: UnsafeMutablePointer<Float>) {
        destination[0] = Float(state.0)
        destination[1] = Float(state.1)
        destination[2] = Float(state.2)
        destination[3] = Float(state.3)
    }

    @inline(__always)
    public func writeActionMask(into destination: UnsafeMutablePointer<Bool>) {
        destination[0] = true
        destination[1] = true
    }

    @inline(__always)
    public mutating func step(discrete action: Int) -> Transition {
        let k = configuration
        var (x, xDot, theta, thetaDot) = state
        let force = action == 1 ? k.forceMagnitude : -k.forceMagnitude
        let cosTheta = cos(theta)
        let sinTheta = sin(theta)
        let temp = (force + poleMassLength * (thetaDot * thetaDot) * sinTheta) / totalMass
        let thetaAcc = (k.gravity * sinTheta - cosTheta * temp)
            / (k.length * (4.0 / 3.0 - k.massPole * (cosTheta * cosTheta) / totalMass))
        let xAcc = temp - poleMassLength * thetaAcc * cosTheta / totalMass
        x = x + k.tau * xDot
        xDot = xDot + k.tau * xAcc
        theta = theta + k.tau * thetaDot
        thetaDot = thetaDot + k.tau * thetaAcc
        state = (x, xDot, theta, thetaDot)

        let terminated = x < -k.xThreshold || x > k.xThreshold
            || theta < -k.thetaThreshold || theta > k.thetaThreshold
        let reward: Double
        if !terminated {
            reward = 1
        } else if !terminatedAlready {
            terminatedAlready = true
            reward = 1
        } else {
            reward = 0
        }
        return Transition(reward: reward, terminated: terminated, truncated: false)
    }

    /// Sets `(x, ẋ, θ, θ̇)`, as `env.unwrapped.state = ...` does in Gymnasium.
    /// - Throws: ``EnvError/Code/invalidArgument`` unless `values` has 4 entries.
    public mutating func setState(_ values: [Double]) throws {
        guard values.count == 4 else {
            throw EnvError(.invalidArgument, "CartPole state needs 4 values (x, x_dot, theta, theta_dot), got \(values.count).")
        }
        state = (values[0], values[1], values[2], values[3])
        terminatedAlready = false
    }
}

extension CartPole: StateCheckpointable {
    /// `state` (x, ẋ, θ, θ̇ as doubles), the generator, and the ready/terminated flags.
    public func saveState() -> StateDict {
        var s = StateDict()
        s.doubles["state"] = [state.0, state.1, state.2, state.3]
        s.setGenerator(generator, at: "generator")
        s.setFlag(terminatedAlready, at: "terminated_already")
        s.setFlag(isReady, at: "is_ready")
        return s
    }

    public mutating func loadState(_ s: StateDict) throws {
        let v = try s.doubles("state", count: 4)
        let g = try s.generator("generator")
        let t = try s.flag("terminated_already")
        let r = try s.flag("is_ready")
        state = (v[0], v[1], v[2], v[3])
        generator = g
        terminatedAlready = t
        isReady = r
    }
}
