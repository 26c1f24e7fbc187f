import OverlayEngine
import Testing

@testable import ShiftCLI

let rootFacts = HostFacts(cwd: "/home/ws", isRoot: true, overflowUID: 65534, overflowGID: 65533)
let userFacts = HostFacts(cwd: "/home/u", isRoot: false)

func plan(_ args: [String], facts: HostFacts = rootFacts) throws -> MountPlan {
    let command = try Parser.parse(["shiftoverlay"] + args, facts: facts)
    guard case .mount(let p) = command else {
        Issue.record("expected a mount plan, got \(command)")
        throw CLIError("not a mount")
    }
    return p
}

func parseError(_ args: [String], facts: HostFacts = rootFacts) -> String? {
    do {
        _ = try Parser.parse(["shiftoverlay"] + args, facts: facts)
        return nil
    } catch {
        return error.message
    }
}

func range(_ d: UInt32, _ v: UInt32, _ n: UInt32) -> IDMap.Range { IDMap.Range(storage: d, visible: v, count: n) }

@Suite struct ClientForms {
    let L = "/var/lib/containers/storage/overlay/l"

    @Test func podmanPlain() throws {
        let p = try plan(["-o", "lowerdir=\(L)/AAA:\(L)/BBB,upperdir=/s/u/diff,workdir=/s/u/work,", "/s/u/merged"])
        #expect(p.lowerDirs == ["\(L)/AAA", "\(L)/BBB"])
        #expect(p.upperDir == "/s/u/diff")
        #expect(p.workDir == "/s/u/work")
        #expect(p.workTempDir == "/s/u/work/work")
        #expect(p.mountpoint == "/s/u/merged")
        #expect(p.source == nil)
        #expect(p.fsync)
        #expect(!p.isReadOnly)
        #expect(!p.foreground)
        #expect(p.uidMap.isIdentity && p.gidMap.isIdentity)
        #expect(p.timeout == MountPlan.defaultTimeout)
        #expect(p.threads > 1)
        #expect(p.warnings.isEmpty)
        #expect(
            p.fuseOptions == [
                "default_permissions", "allow_other", "suid", "noatime", "fsname=shiftoverlay", "subtype=shiftoverlay",
                "max_read=524288",
            ])
    }

    @Test func podmanVolatile() throws {
        let p = try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,,volatile", "/m"])
        #expect(!p.fsync)
        #expect(p.warnings.isEmpty)
    }

    @Test func podmanUidmappingWithLeadingColon() throws {
        let p = try plan([
            "-o", "lowerdir=/a,upperdir=/u,workdir=/w,,uidmapping=:0:100000:65536,gidmapping=:0:100000:65536", "/m",
        ])
        #expect(p.uidMap.ranges == [range(0, 100000, 65536)])
        #expect(p.gidMap.ranges == [range(0, 100000, 65536)])
        #expect(p.uidMap.overflowID == 65534)
        #expect(p.gidMap.overflowID == 65533)
        #expect(p.uidMap.toVisible(0) == 100000)
        #expect(p.uidMap.toVisible(70000) == 65534)
    }

    @Test func podmanKeepIDThreeRanges() throws {
        let p = try plan([
            "-o",
            "lowerdir=/a,upperdir=/u,workdir=/w,,uidmapping=:0:1:1001:1001:0:1:1002:1002:64535,gidmapping=:0:1:1002:1002:0:1:1003:1003:64534",
            "/m",
        ])
        #expect(p.uidMap.ranges == [range(0, 1, 1001), range(1001, 0, 1), range(1002, 1002, 64535)])
        #expect(p.gidMap.ranges == [range(0, 1, 1002), range(1002, 0, 1), range(1003, 1003, 64534)])
        #expect(p.uidMap.toVisible(1001) == 0)
        #expect(p.uidMap.toStorage(0) == 1001)
    }

    @Test func podmanSquashToUID() throws {
        let p = try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,,squash_to_uid=5000,squash_to_gid=5000", "/m"])
        #expect(p.upperDir == "/u")
        #expect(p.warnings.isEmpty)
        #expect(p.squashUID == 5000 && p.squashGID == 5000)
        #expect(!p.fuseOptions.contains { $0.hasPrefix("squash") })
    }

    @Test func squashToRootLosesToExplicitIDsInAnyOrder() throws {
        let p = try plan(["-o", "lowerdir=/a,squash_to_gid=7,squash_to_root", "/m"])
        #expect(p.squashUID == 0 && p.squashGID == 7)
        #expect(try plan(["-o", "lowerdir=/a", "/m"]).squashUID == nil)
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,squash_to_uid=abc", "/m"]) }
    }

    @Test func xattrPermissions() throws {
        #expect(try plan(["-o", "lowerdir=/a,xattr_permissions=2", "/m"]).xattrPermissions == 2)
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,xattr_permissions=3", "/m"]) }
    }

    @Test func podmanFsync0() throws {
        let p = try plan(["-o", "lowerdir=/a,upperdir=/u,workdir=/w,,fsync=0,volatile", "/m"])
        #expect(!p.fsync)
        #expect(try !plan(["-o", "lowerdir=/a,fsync=0", "/m"]).fsync)
        #expect(try plan(["-o", "lowerdir=/a,fsync=0,fsync=1", "/m"]).fsync)
    }

    @Test func lowerdirOnlyIsReadOnly() throws {
        let p = try plan(["-o", "lowerdir=/d:/p1:/p2", "/m"])
        #expect(p.isReadOnly)
        #expect(p.upperDir == nil && p.workDir == nil && p.workTempDir == nil)
        #expect(p.lowerDirs == ["/d", "/p1", "/p2"])
    }

    @Test func mountFuse3Form() throws {
        let p = try plan(["overlay", "/merged", "-o", "rw,lowerdir=/l2:/l1,upperdir=/u,workdir=/w,dev,suid"])
        #expect(p.source == "overlay")
        #expect(p.mountpoint == "/merged")
        #expect(p.lowerDirs == ["/l2", "/l1"])
        #expect(p.warnings.isEmpty)
        #expect(!p.fuseOptions.contains("rw"))
        #expect(
            p.fuseOptions == [
                "default_permissions", "allow_other", "suid", "noatime", "dev", "suid", "fsname=overlay",
                "subtype=shiftoverlay", "max_read=524288",
            ])
    }

    @Test func workspaceDaemonForm() throws {
        let p = try plan([
            "-o",
            "lowerdir=LAYER:/rootfs,upperdir=U,workdir=W,uidmapping=0:33333:1:1:100000:65534,gidmapping=0:33333:1:1:100000:65534",
            "none", "MERGED",
        ])
        #expect(p.source == "none")
        #expect(p.mountpoint == "/home/ws/MERGED")
        #expect(p.lowerDirs == ["/home/ws/LAYER", "/rootfs"])
        #expect(p.upperDir == "/home/ws/U")
        #expect(p.workDir == "/home/ws/W")
        #expect(p.uidMap.ranges == [range(0, 33333, 1), range(1, 100000, 65534)])
        #expect(p.gidMap.ranges == p.uidMap.ranges)
        #expect(p.fuseOptions.contains("fsname=none"))
    }

    @Test func nonRootDefaults() throws {
        let p = try plan(["-o", "lowerdir=a", "m"], facts: userFacts)
        #expect(p.lowerDirs == ["/home/u/a"])
        #expect(p.mountpoint == "/home/u/m")
        #expect(
            p.fuseOptions == [
                "default_permissions", "noatime", "fsname=shiftoverlay", "subtype=shiftoverlay", "max_read=524288",
            ])
    }
}

@Suite struct Grammar {
    @Test func flagsAndPositionsInAnyOrder() throws {
        let p = try plan(["/m", "-f", "-o", "lowerdir=/a", "-d", "-s"])
        #expect(p.foreground && p.debug)
        #expect(p.threads == 1)
        #expect(p.mountpoint == "/m")
        let q = try plan(["-d", "-olowerdir=/a", "/m"])
        #expect(q.foreground && q.debug)
        #expect(q.lowerDirs == ["/a"])
    }

    @Test func repeatedDashOAndEmptyEntries() throws {
        let p = try plan(["-o", ",,lowerdir=/a,,", "-o", "upperdir=/u", "-o", "workdir=/w,timeout=0.5,", "/m"])
        #expect(p.lowerDirs == ["/a"])
        #expect(p.upperDir == "/u" && p.workDir == "/w")
        #expect(p.timeout == 0.5)
        #expect(p.warnings.isEmpty)
    }

    @Test func laterOptionsWin() throws {
        let p = try plan(["-o", "lowerdir=/a", "-o", "lowerdir=/b:/c", "/m"])
        #expect(p.lowerDirs == ["/b", "/c"])
    }

    @Test func escapedCommaAndColon() throws {
        let p = try plan(["-o", #"lowerdir=/x\,y:/p\:q:/r,upperdir=/u\,1,workdir=/w"#, "/m"])
        #expect(p.lowerDirs == ["/x,y", "/p:q", "/r"])
        #expect(p.upperDir == "/u,1")
    }

    @Test func trailingSlashesAndRelativePaths() throws {
        let p = try plan(["-o", "lowerdir=a/:/b//,upperdir=../u,workdir=w", "mnt/"])
        #expect(p.lowerDirs == ["/home/ws/a", "/b"])
        #expect(p.upperDir == "/home/ws/../u")
        #expect(p.mountpoint == "/home/ws/mnt")
    }

    @Test func threaded() throws {
        #expect(try plan(["-o", "lowerdir=/a,threaded=0", "/m"]).threads == 1)
        #expect(try plan(["-o", "lowerdir=/a,threaded=1", "/m"]).threads == 10)
        #expect(try plan(["-o", "lowerdir=/a,threaded=4", "/m"]).threads == 4)
        #expect(parseError(["-o", "lowerdir=/a,threaded=x", "/m"]) != nil)
    }

    @Test func fuseOptionsPassThrough() throws {
        let p = try plan(["-o", "lowerdir=/a,ro,nosuid,nodev,noexec,fsname=myfs,subtype=x,max_read=65536", "/m"])
        #expect(p.fuseOptions.contains("ro"))
        #expect(p.fuseOptions.contains("nosuid") && p.fuseOptions.contains("nodev") && p.fuseOptions.contains("noexec"))
        #expect(p.fuseOptions.filter { $0.hasPrefix("fsname=") } == ["fsname=myfs"])
        #expect(p.fuseOptions.filter { $0.hasPrefix("subtype=") } == ["subtype=x"])
        #expect(p.fuseOptions.contains("max_read=65536"))
        #expect(p.warnings.isEmpty)
    }

    @Test func unknownOptionsWarnNotFail() throws {
        let p = try plan(["-o", "lowerdir=/a,bogus,frobnicate=3,x-systemd.automount,defaults", "/m"])
        #expect(p.warnings.count == 2)
        #expect(!p.fuseOptions.contains("bogus"))
        #expect(try plan(["-o", "lowerdir=/a,noatim", "/m"]).warnings.first?.contains("did you mean noatime") == true)
    }

    @Test func fuseOverlayfsOptionsWithTheirMeaning() throws {
        let p = try plan(["-o", "lowerdir=/a,static_nlink,noxattrs=1,writeback=1,ino32_t,xino=auto,fast_ino_check,redirect_dir=off", "/m"])
        #expect(p.warnings.isEmpty)
        #expect(p.staticNlink && !p.xattrs && p.writeback && p.ino32)
        #expect(!p.posixACL, "no ACLs without xattrs")
        #expect(p.fuseConfig.writeback)
        let defaults = try plan(["-o", "lowerdir=/a", "/m"])
        #expect(!defaults.staticNlink && defaults.xattrs && !defaults.writeback && !defaults.ino32 && defaults.posixACL)
        #expect(try plan(["-o", "lowerdir=/a,writeback=0,noacl", "/m"]).writeback == false)
        #expect(try plan(["-o", "lowerdir=/a,noacl", "/m"]).posixACL == false)
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,static_nlink=2", "/m"]) }
        #expect(throws: CLIError.self) { try plan(["-o", "lowerdir=/a,xino=maybe", "/m"]) }
        // SELinux context goes to the kernel; plugins are not supported (warned, not fatal).
        let c = try plan(["-o", "lowerdir=/a,context=system_u:object_r:container_file_t:s0,plugins=a:b,redirect_dir=on", "/m"])
        #expect(c.fuseOptions.contains("context=system_u:object_r:container_file_t:s0"))
        #expect(c.warnings.count == 1)
        #expect(c.warnings.contains { $0.contains("plugins") })
        #expect(c.redirectDir == .on)
    }

    @Test func debugOptionAndAllowRoot() throws {
        let p = try plan(["-o", "lowerdir=/a,debug,allow_root", "/m"])
        #expect(p.debug && p.foreground)
        #expect(p.fuseOptions.contains("allow_root"))
        #expect(!p.fuseOptions.contains("allow_other"))
    }

    @Test func helpAndVersion() throws {
        #expect(try Parser.parse(["shiftoverlay", "--help"], facts: rootFacts) == .help)
        #expect(try Parser.parse(["shiftoverlay", "-o", "lowerdir=/a", "-h"], facts: rootFacts) == .help)
        #expect(try Parser.parse(["shiftoverlay", "-V"], facts: rootFacts) == .version)
        #expect(try Parser.parse(["shiftoverlay", "--version"], facts: rootFacts) == .version)
    }

    @Test func libfuseArguments() throws {
        var c = try plan(["-o", "lowerdir=/a,fsname=a\\,b", "-d", "/m"]).fuseConfig
        #expect(c.fuseOptions.contains("fsname=a,b"))
        #expect(c.libfuseArguments.first == "shiftoverlay")
        #expect(c.libfuseArguments.contains("-d"))
        #expect(c.libfuseArguments.last?.contains(#"fsname=a\,b"#) == true)
        c.fuseOptions = []
        c.debug = false
        #expect(c.libfuseArguments == ["shiftoverlay"])
    }
}

@Suite struct Errors {
    @Test func missingLowerdir() {
        #expect(parseError(["-o", "upperdir=/u,workdir=/w", "/m"])?.contains("lowerdir") == true)
        #expect(parseError(["/m"])?.contains("lowerdir") == true)
    }

    @Test func misspeltLowerdirGetsAHint() {
        let e = parseError(["-o", "lowerdri=/a", "/m"])
        #expect(e?.contains("did you mean lowerdir=") == true)
        #expect(parseError(["-o", "lowerdir=/a,uperdir=/u,workdir=/w", "/m"])?.contains("did you mean upperdir=") == true)
    }

    @Test func upperAndWorkGoTogether() {
        #expect(parseError(["-o", "lowerdir=/a,upperdir=/u", "/m"])?.contains("workdir") == true)
        #expect(parseError(["-o", "lowerdir=/a,workdir=/w", "/m"])?.contains("upperdir") == true)
    }

    @Test func positionals() {
        #expect(parseError(["-o", "lowerdir=/a"])?.contains("mountpoint") == true)
        #expect(parseError(["-o", "lowerdir=/a", "x", "y", "z"])?.contains("too many") == true)
        #expect(parseError(["-o"]) != nil)
    }

    @Test func emptyValues() {
        #expect(parseError(["-o", "lowerdir=", "/m"]) != nil)
        #expect(parseError(["-o", "lowerdir=::", "/m"]) != nil)
        #expect(parseError(["-o", "lowerdir=/a,upperdir=,workdir=/w", "/m"]) != nil)
    }

    @Test func badValues() {
        #expect(parseError(["-o", "lowerdir=/a,fsync=2", "/m"])?.contains("fsync") == true)
        #expect(parseError(["-o", "lowerdir=/a,timeout=-1", "/m"])?.contains("timeout") == true)
        #expect(parseError(["-o", "lowerdir=/a,timeout=abc", "/m"])?.contains("timeout") == true)
    }

    @Test(arguments: [
        ("0:100000", "triples"),
        ("0:100000:0", "empty"),
        ("0:x:5", "not an id"),
        ("0:-1:5", "not an id"),
        ("0:+1:5", "not an id"),
        ("a:b:c", "not an id"),
        ("0:1:4294967296", "not an id"),
        ("4294967295:0:2", "past"),
        ("0:4294967290:10", "past"),
        ("0:100:10:5:200:10", "stored ids"),
        ("0:100:10:20:105:10", "visible ids"),
        ("", "needs"),
        (":", "triples"),
    ])
    func badMappings(value: String, expected: String) {
        let e = parseError(["-o", "lowerdir=/a,uidmapping=\(value)", "/m"])
        #expect(e?.contains(expected) == true, "uidmapping=\(value): \(e ?? "accepted")")
        let g = parseError(["-o", "lowerdir=/a,gidmapping=\(value)", "/m"])
        #expect(g?.contains("gidmapping") == true)
    }

    @Test func edgeMappingsAccepted() throws {
        let p = try plan(["-o", "lowerdir=/a,uidmapping=4294967295:0:1:0:1:4294967295", "/m"])
        #expect(p.uidMap.ranges == [range(4_294_967_295, 0, 1), range(0, 1, 4_294_967_295)])
    }
}

@Suite struct Helpers {
    @Test func optionListSplitting() {
        #expect(OptionList.split("a,,b,") == ["a", "b"])
        #expect(OptionList.split(#"a\,b,c"#) == ["a,b", "c"])
        #expect(OptionList.split(#"a\:b"#) == [#"a\:b"#])
        #expect(OptionList.split("") == [])
    }

    @Test func editDistances() {
        #expect(editDistance("lowerdir", "lowerdri") == 2)
        #expect(editDistance("lowerdir", "lowerdir") == 0)
        #expect(editDistance("", "abc") == 3)
    }
}
