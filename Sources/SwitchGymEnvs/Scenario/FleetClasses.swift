/// The device classes of a fleet: devices of the same kind, memory and GPU count (the fleet entries of a
/// spec, merged when two entries describe the same hardware). Devices of one class are
/// interchangeable for the switching decisions: the same variants fit them and a variant
/// serves at the same rate on each, so baselines search over how many devices of each class
/// hold each variant, and a policy's parameters are shared by every device of a class.
public struct FleetClasses: Sendable, Equatable, Codable {
    /// One name per class (`KIND-MEMORYgb`, e.g. `gpu-80gb`, or `KIND-GPUSxMEMORYgb` for a
    /// multi-GPU device, e.g. `h100-8x80gb`), in order of first appearance.
    public let names: [String]
    /// The class of each device.
    public let classOf: [Int]
    /// Devices per class.
    public let sizes: [Int]
    /// `canHold[k * V + v]`: whether devices of class `k` can hold variant `v`.
    public let canHold: [Bool]
    /// Variants.
    public let variantCount: Int

    /// The classes of `fleet` for `variants`.
    public init(fleet: [Device], variants: [ModelVariant]) {
        var names = [String](), classOf = [Int](), sizes = [Int](), hold = [Bool]()
        var index = [String: Int]()
        for d in fleet {
            let key = "\(d.kind)-\(d.gpus == 1 ? "" : "\(d.gpus)x")\(Self.format(d.memoryGB))gb"
            if let k = index[key] {
                classOf.append(k)
                sizes[k] += 1
            } else {
                index[key] = names.count
                classOf.append(names.count)
                names.append(key)
                sizes.append(1)
                hold += variants.map { d.canHold($0) }
            }
        }
        self.names = names
        self.classOf = classOf
        self.sizes = sizes
        self.canHold = hold
        self.variantCount = variants.count
    }

    /// Number of classes.
    public var count: Int { names.count }

    /// Whether devices of class `k` can hold variant `v`.
    @inline(__always)
    public func canHold(class k: Int, variant v: Int) -> Bool { canHold[k * variantCount + v] }

    /// Per class and variant, how many devices of `assignment` hold it (`K × V`, row-major).
    public func counts(of assignment: UnsafeBufferPointer<Int>) -> [Int] {
        var c = [Int](repeating: 0, count: count * variantCount)
        for (d, v) in assignment.enumerated() { c[classOf[d] * variantCount + v] += 1 }
        return c
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
