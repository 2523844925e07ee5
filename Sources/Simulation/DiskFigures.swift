/// What the simulated disks went through in a run with data directories: evidence that snapshots were written,
/// read back, and interrupted by crashes, not only that nothing failed.
public struct DiskFigures: Sendable, Equatable, CustomStringConvertible {
    /// Servers started on a directory that held something.
    public var recoveriesWithData = 0
    /// Of those, the ones that read a snapshot.
    public var recoveriesFromSnapshot = 0
    public var snapshotsWritten = 0
    /// Servers killed while their disk was writing a snapshot.
    public var killedDuringSnapshot = 0
    /// Servers restarted under their saved ID while the viewleader still counted the previous incarnation a member
    /// (within its lease), and after it had expired.
    public var restartsWhileMember = 0
    public var restartsAfterExpiry = 0

    public init() {}

    public static func + (lhs: DiskFigures, rhs: DiskFigures) -> DiskFigures {
        var sum = lhs
        sum.recoveriesWithData += rhs.recoveriesWithData
        sum.recoveriesFromSnapshot += rhs.recoveriesFromSnapshot
        sum.snapshotsWritten += rhs.snapshotsWritten
        sum.killedDuringSnapshot += rhs.killedDuringSnapshot
        sum.restartsWhileMember += rhs.restartsWhileMember
        sum.restartsAfterExpiry += rhs.restartsAfterExpiry
        return sum
    }

    public var description: String {
        "data directories: \(recoveriesWithData) restarts on data (\(recoveriesFromSnapshot) from a snapshot); "
            + "\(snapshotsWritten) snapshots written; \(killedDuringSnapshot) servers killed while writing one; "
            + "restarted under their saved ID: \(restartsWhileMember) while still a member, \(restartsAfterExpiry) "
            + "after expiring"
    }
}
