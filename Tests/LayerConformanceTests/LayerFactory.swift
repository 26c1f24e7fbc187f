import LayerAPI
import MemoryLayer
import Testing

/// A fresh, empty upper layer (tree + work directory) and how to dispose of it.
struct LayerFixture {
    let layer: any UpperLayer
    let cleanup: @Sendable () -> Void
}

/// Makes fresh layers of one implementation. Every conformance test runs once per entry of
/// `LayerFactory.all`, so all implementations are held to the same expectations.
struct LayerFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> LayerFixture

    var testDescription: String { name }

    static let memory = LayerFactory(name: "memory") {
        LayerFixture(layer: MemoryLayer(), cleanup: {})
    }

    static let all: [LayerFactory] = [
        .memory,
        .posix,
    ]
}

/// Runs `body` on a fresh layer from `factory`, cleaning up afterwards.
func withLayer(_ factory: LayerFactory, _ body: (any UpperLayer) async throws -> Void) async throws {
    let fixture = try factory.make()
    defer { fixture.cleanup() }
    try await body(fixture.layer)
}
