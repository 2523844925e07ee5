import Testing
@testable import Wire

struct WriteIDTests {
    func request(_ fields: JSONObject) throws -> Request { try Request(fields: fields) }

    @Test func aWriteIDTravelsAsSixteenHexDigitsAndASequenceNumber() throws {
        let writeID = WriteID(client: 0x00AB_CDEF_0123_4567, sequence: 42)
        var fields: JSONObject = ["cmd": "setr"]
        writeID.add(to: &fields)
        #expect(fields["client_id"] == "00abcdef01234567" && fields["seq"] == 42)
        #expect(try WriteID(request: request(fields)) == writeID)
        #expect(writeID.description == "00abcdef01234567/42")
    }

    @Test func aRequestWithoutOneHasNone() throws {
        #expect(try WriteID(request: request(["cmd": "setr", "key": "k", "val": "v"])) == nil)
    }

    @Test func halfAWriteIDOrABadOneIsRefusedNamingTheField() throws {
        #expect(throws: RequestError.missingField("seq")) {
            try WriteID(request: request(["cmd": "setr", "client_id": "00abcdef01234567"]))
        }
        #expect(throws: RequestError.missingField("client_id")) { try WriteID(request: request(["cmd": "setr", "seq": 1])) }
        for client: JSONValue in ["abc", "00abcdef0123456g", "00abcdef012345678", 12] {
            #expect(throws: RequestError.self) {
                try WriteID(request: request(["cmd": "setr", "client_id": client, "seq": 1]))
            }
        }
        for sequence: JSONValue in [0, -1, .integer(WriteID.sequenceMax + 1), "1"] {
            #expect(throws: RequestError.self) {
                try WriteID(request: request(["cmd": "setr", "client_id": "00abcdef01234567", "seq": sequence]))
            }
        }
    }
}
