import Testing
@testable import Durability

/// A data directory keeps its server's ID; every start is the next incarnation, saved before it is used.
struct ServerIdentityTests {
    @Test func aNewDirectoryGetsAFreshIDAsIncarnationOneAndEachStartTheNext() throws {
        let files = SimulatedFiles()
        var fresh = 0
        let first = try IdentityFile.start(in: files, idBytesMax: 256) {
            fresh += 1
            return "abc"
        }
        #expect(first == ServerIdentity(id: "abc", incarnation: 1))
        let second = try IdentityFile.start(in: files, idBytesMax: 256) { "never used" }
        #expect(second == ServerIdentity(id: "abc", incarnation: 2))
        #expect(fresh == 1)
        #expect(try IdentityFile.read(files, idBytesMax: 256) == second)
    }

    @Test func theSavedIdentitySurvivesACrashThatLosesWhatWasNotSynced() throws {
        let files = SimulatedFiles()
        _ = try IdentityFile.start(in: files, idBytesMax: 256) { "kept" }
        try files.append([1, 2, 3], to: "wal-0000000000000001.log")
        _ = files.crash()
        #expect(try IdentityFile.read(files, idBytesMax: 256) == ServerIdentity(id: "kept", incarnation: 1))
    }

    @Test func aDeniedServerWithADirectoryRegistersAsItsNextIncarnationAndOneWithoutUnderAFreshID() throws {
        let files = SimulatedFiles()
        let denied = ServerIdentity(id: "kept", incarnation: 4)
        #expect(try IdentityFile.afterDenial(of: denied, in: files) { "fresh" } == denied.next)
        #expect(try IdentityFile.read(files, idBytesMax: 256) == denied.next)
        #expect(try IdentityFile.afterDenial(of: denied, in: nil) { "fresh" } == ServerIdentity(id: "fresh"))
    }

    @Test(arguments: [0, 5, 13, 20])
    func aDamagedIdentityFileIsRefusedByName(_ flipped: Int) throws {
        let files = SimulatedFiles()
        try IdentityFile.save(ServerIdentity(id: "kept", incarnation: 2), in: files)
        var bytes = try #require(try files.read(IdentityFile.name))
        bytes[flipped % bytes.count] ^= 0x20
        try files.replace(IdentityFile.name, with: bytes)
        #expect {
            _ = try IdentityFile.read(files, idBytesMax: 256)
        } throws: { error in
            "\(error)".contains(IdentityFile.name) && "\(error)".contains("restore the data directory")
        }
    }

    @Test func anIDLongerThanTheLimitIsRefused() throws {
        let files = SimulatedFiles()
        try IdentityFile.save(ServerIdentity(id: String(repeating: "x", count: 300), incarnation: 1), in: files)
        #expect(throws: IdentityFileError.self) { try IdentityFile.read(files, idBytesMax: 256) }
    }
}
