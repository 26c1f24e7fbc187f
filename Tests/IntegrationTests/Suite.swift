import Testing

/// All mount-based tests live under this suite: serialized (one mount workload at a time keeps
/// the 2-core machines responsive), and enabled only where mounting is possible (root and
/// /dev/fuse — true in CI, so the tests really run there). Each test still uses its own scratch
/// directory and mountpoints.
@Suite(.serialized, .enabled(if: Env.canMount, "needs root and /dev/fuse"))
enum Integration {}
