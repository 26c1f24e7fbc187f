import OverlayEngine
import Testing

@Suite struct IDMapTests {
    let podman = IDMap(ranges: [.init(storage: 0, visible: 100_000, count: 65536)])
    /// The workspace daemon's map: 0 -> 33333, 1.. -> 100000..
    let gitpod = IDMap(ranges: [.init(storage: 0, visible: 33333, count: 1), .init(storage: 1, visible: 100_000, count: 65534)])

    @Test func identityMapsEverythingToItself() {
        for id: UInt32 in [0, 1, 1000, 65534, UInt32.max - 1] {
            #expect(IDMap.identity.toVisible(id) == id)
            #expect(IDMap.identity.toStorage(id) == id)
        }
    }

    @Test func rangeEdges() {
        #expect(podman.toVisible(0) == 100_000)
        #expect(podman.toVisible(65535) == 165_535)
        #expect(podman.toVisible(65536) == 65534)  // outside: overflow id
        #expect(podman.toStorage(100_000) == 0)
        #expect(podman.toStorage(165_535) == 65535)
        #expect(podman.toStorage(99_999) == nil)
        #expect(podman.toStorage(165_536) == nil)
    }

    @Test func multiRange() {
        #expect(gitpod.toVisible(0) == 33333)
        #expect(gitpod.toVisible(1) == 100_000)
        #expect(gitpod.toVisible(1000) == 100_999)
        #expect(gitpod.toVisible(65534) == 165_533)
        #expect(gitpod.toVisible(65535) == 65534)
        #expect(gitpod.toStorage(33333) == 0)
        #expect(gitpod.toStorage(33334) == nil)
        #expect(gitpod.toStorage(100_999) == 1000)
    }

    @Test func roundTripsOverEveryMappedID() {
        for map in [podman, gitpod] {
            for r in map.ranges {
                for id in [r.storage, r.storage + r.count / 2, r.storage + r.count - 1] {
                    #expect(map.toStorage(map.toVisible(id)) == id)
                }
            }
        }
    }

    @Test func rangeAtTheTopOfTheIDSpaceDoesNotOverflow() {
        let top = IDMap(ranges: [.init(storage: UInt32.max - 10, visible: 0, count: 10)])
        #expect(top.toVisible(UInt32.max - 1) == 9)
        #expect(top.toVisible(UInt32.max) == 65534)
        #expect(top.toStorage(9) == UInt32.max - 1)
        #expect(top.toStorage(10) == nil)
    }

    @Test func customOverflowID() {
        let m = IDMap(ranges: [.init(storage: 0, visible: 1, count: 1)], overflowID: 4242)
        #expect(m.toVisible(5) == 4242)
    }
}
