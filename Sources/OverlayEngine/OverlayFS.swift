import LayerAPI
import Synchronization

/// The overlay filesystem: the merged view of `lowers` (index 0 is the top lower layer) under an
/// optional writable `upper`. One public method per FUSE operation, named after it. Every method
/// is synchronous and safe to call from many threads at once.
public final class OverlayFS: Sendable {
    public let lowers: [any Layer]
    public let upper: (any UpperLayer)?
    public let options: EngineOptions

    public init(lowers: [any Layer], upper: (any UpperLayer)?, options: EngineOptions = EngineOptions()) throws(Errno) {
        self.lowers = lowers
        self.upper = upper
        self.options = options
    }

    public var isReadOnly: Bool { upper == nil }
}
