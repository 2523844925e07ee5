import Foundation
import Synchronization
import Testing
import Transport
import Wire

/// On every view change the viewleader tells every live server at once, not only through heartbeat replies.
@Suite(.serialized)
struct ViewChangeNoticeTests {
    @Test func everyLiveServerHearsOfANewEpochAtOnce() throws {
        let cluster = try LocalCluster()
        defer { cluster.stop() }
        let heard = Mutex<[Int64]>([])
        let standIn = try FrameServer(host: "127.0.0.1", ports: [0], limits: WireLimits())
        let done = DispatchSemaphore(value: 0)
        Thread {
            standIn.run { request, responder in
                if request.command == "view_change", let epoch = request.fields["epoch"]?.integerValue {
                    heard.withLock { $0.append(epoch) }
                }
                responder.reply(Reply.ok)
            }
            done.signal()
        }.start()
        defer {
            standIn.stop()
            done.wait()
        }
        let viewLeader = try rawConnection(port: cluster.viewLeaderPort)
        let beat: JSONValue = ["cmd": "heartbeat", "port": .integer(Int64(standIn.port)), "requestor": "stand-in"]
        #expect(try viewLeader.call(beat, timeoutMs: 5_000).objectValue?["epoch"] == 1)
        try cluster.startServer()
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline && !heard.withLock({ $0.contains(2) }) { usleep(10_000) }
        #expect(heard.withLock { $0.contains(2) }, "the stand-in heard \(heard.withLock { $0 })")
    }
}
