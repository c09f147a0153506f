/// A set of valid observations or actions, as in Gymnasium's `spaces`.
///
/// Spaces are values. Sampling takes the generator explicitly so the caller owns
/// the stream (seed it with `SeededGenerator(seed:)`, as Gymnasium's `space.seed`).
public protocol Space: Sendable, Equatable, CustomStringConvertible {
    /// The type of the space's members.
    associatedtype Element

    /// Whether `element` is a member of the space.
    func contains(_ element: Element) -> Bool

    /// Throws ``EnvError/Code/invalidSpace`` if the space is malformed.
    func validate() throws

    /// A uniformly random member (for unbounded boxes: see ``Box/sample(using:)``).
    func sample(using generator: inout SeededGenerator) -> Element
}
