import LayerAPI

public enum ShiftCLI {
    /// Runs the command line; returns the process exit status.
    public static func run(_ arguments: [String]) -> Int32 { 1 }
}
