/// The version every executable prints for `--version`: one number for the three, which are built and released
/// together and speak one protocol.
public enum ToolVersion {
    /// Raised with each release; the minor number follows the issues landed (0.16: authentication).
    public static let current = "0.16.0"

    /// The `--version` flag every executable takes.
    public static let spec = OptionSpec.flag("version", help: "print the version and exit")

    /// What `TOOL --version` prints.
    public static func line(_ tool: String) -> String {
        "\(tool) \(current) (ReplicatedKV; wire protocol: PROTOCOL.md, compatible with the classic course clients)"
    }
}
