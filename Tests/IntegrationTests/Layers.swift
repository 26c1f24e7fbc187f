// Generators for the layers the integration tests mount.

import Foundation
import Testing

/// The small generated lower placed on top of a subtree of the host's /usr (`Env.usrSubtree`).
enum UsrTopLayer {
    /// Files of the base whose content the top layer overrides (relative paths).
    static let overrides = ["stdio.h", "stdlib.h", "linux/types.h"]
    /// New files only in the top layer.
    static let newFiles = ["shiftoverlay-new.h", "linux/shiftoverlay-new.h", "newdir/sub/deep.h"]
    /// Hidden by `.wh.NAME` image whiteouts (a file and a directory).
    static let imageWhiteouts = ["errno.h", "arpa"]
    /// Hidden by kernel whiteouts (char device 0/0; a file and a directory).
    static let kernelWhiteouts = ["unistd.h", "netinet"]
    /// A directory of the base made opaque in the top layer, and what the top layer puts in it.
    static let opaqueDir = "fuse3"
    static let opaqueContent = ["only.h"]
    /// All names that must not be visible through the merged view.
    static var hidden: [String] { imageWhiteouts + kernelWhiteouts }

    static func overrideText(_ rel: String) -> String { "/* shiftoverlay override of \(rel) */\n" }
    static func newText(_ rel: String) -> String { "/* shiftoverlay new file \(rel) */\n" }

    /// Checks the base subtree has what the layer is meant to override or hide, so no check
    /// can pass vacuously.
    static func checkBase(_ base: String) throws {
        for rel in overrides + imageWhiteouts + kernelWhiteouts + [opaqueDir] {
            try #require(lstatErrno(base + "/" + rel) == 0, "\(base)/\(rel) must exist for this test")
        }
        let inOpaque = listDir(base + "/" + opaqueDir) ?? []
        try #require(!inOpaque.isEmpty && Set(inOpaque).isDisjoint(with: opaqueContent))
    }

    /// Builds the layer in `dir`. With `imageWhiteoutsAsKernel` the `.wh.NAME` files are written as
    /// char-device whiteouts instead: that is the kernel's equivalent of the same layer (the
    /// kernel does not read `.wh.` files), used for the oracle mount.
    static func build(_ dir: String, imageWhiteoutsAsKernel: Bool = false) throws {
        let fm = FileManager.default
        for rel in overrides + newFiles {
            let p = dir + "/" + rel
            try fm.createDirectory(
                atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try write(p, overrides.contains(rel) ? overrideText(rel) : newText(rel))
        }
        for name in imageWhiteouts {
            if imageWhiteoutsAsKernel {
                try mknodWhiteout(dir + "/" + name)
            } else {
                try write(dir + "/.wh." + name, "")
            }
        }
        for name in kernelWhiteouts { try mknodWhiteout(dir + "/" + name) }
        let od = dir + "/" + opaqueDir
        try fm.createDirectory(atPath: od, withIntermediateDirectories: true)
        for f in opaqueContent { try write(od + "/" + f, newText(opaqueDir + "/" + f)) }
        let r = run(["setfattr", "-n", "trusted.overlay.opaque", "-v", "y", od])
        guard r.ok else { throw HarnessError("setfattr opaque failed: \(r)") }
        _ = run(["chmod", "-R", "u=rwX,go=rX", dir])
    }
}

func mknodWhiteout(_ path: String) throws {
    let r = run(["mknod", path, "c", "0", "0"])
    guard r.ok else { throw HarnessError("mknod \(path) failed: \(r)") }
}

/// A small lower (two layers) for the read-write tests.
enum RWLayers {
    /// A scratch directory with the two lowers built (`build`) and an empty upper and work.
    static func stack(_ tag: String) throws -> (s: Scratch, top: String, bottom: String, upper: String, work: String) {
        let s = try Scratch(tag)
        let top = try s.dir("top")
        let bottom = try s.dir("bottom")
        let upper = try s.dir("upper")
        let work = try s.dir("work")
        try build(top: top, bottom: bottom)
        return (s, top, bottom, upper, work)
    }

    /// `bottom` is the lowest layer, `top` is above it (lowerdir=top:bottom).
    static func build(top: String, bottom: String) throws {
        let script = """
            mkdir -p dir/sub tree/x/y movedir/in replace_dir
            printf 'bottom a\\n' > dir/a.txt
            printf 'b\\n' > dir/sub/b.txt
            printf 'z\\n' > tree/x/y/z.txt; printf 'x\\n' > tree/x/x.txt
            printf 'm1\\n' > movedir/m1.txt; printf 'm2\\n' > movedir/in/m2.txt
            printf 'lower\\n' > append.txt
            printf 'delete me\\n' > delete.txt
            printf 'rename me\\n' > rename.txt
            printf 'link me\\n' > link.txt
            printf 'chmod me\\n' > chmod.txt
            printf 'touch me\\n' > touch.txt
            printf 'xattr me\\n' > xattr.txt
            head -c 1000 /dev/zero | tr '\\0' 'q' > trunc.txt
            printf 'old\\n' > replace_dir/old.txt
            ln -s dir/a.txt lowerlink
            chown 1234:5678 dir/sub/b.txt
            chmod 0750 dir/sub
            touch -d '2002-03-04 05:06:07.123456789' dir/a.txt
            setfattr -n user.lower -v yes dir/a.txt
            """
        var r = run(["/bin/bash", "-euo", "pipefail", "-c", script], cwd: bottom)
        guard r.ok else { throw HarnessError("building bottom layer: \(r)") }
        r = run(
            [
                "/bin/bash", "-euo", "pipefail", "-c",
                "mkdir -p dir; printf 'top a\\n' > dir/a.txt; printf 'top only\\n' > toponly.txt",
            ], cwd: top)
        guard r.ok else { throw HarnessError("building top layer: \(r)") }
    }

    /// After `applyChanges`: the upper holds the copy-ups and 0/0 whiteouts, the lower is intact.
    static func checkUpper(upper: String, bottom: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(read(bottom + "/append.txt") == "lower\n", sourceLocation: sourceLocation)
        #expect(read(upper + "/append.txt") == "lower\nmore\n", sourceLocation: sourceLocation)
        for w in ["delete.txt", "tree", "movedir", "rename.txt"] {
            if let st = lstatPath(upper + "/" + w) {
                #expect(
                    st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0, "\(w) is not a 0/0 whiteout",
                    sourceLocation: sourceLocation)
            } else {
                Issue.record("no whiteout for \(w) in the upper", sourceLocation: sourceLocation)
            }
        }
    }

    /// Applies the read-write workload through a mounted view at `mnt` and checks each step.
    /// Used identically through shiftoverlay and kernel overlayfs. `scratch` holds files kept
    /// outside the mount (the tar archive).
    static func applyChanges(mnt: String, scratch: String) {
        // create
        sh("printf 'new\\n' > new.txt", cwd: mnt)
        #expect(read(mnt + "/new.txt") == "new\n")
        // modify a lower file (copy-up)
        sh("printf 'more\\n' >> append.txt", cwd: mnt)
        #expect(read(mnt + "/append.txt") == "lower\nmore\n")
        // delete a lower file and a lower directory tree
        sh("rm delete.txt && rm -rf tree", cwd: mnt)
        #expect(lstatErrno(mnt + "/delete.txt") == ENOENT)
        #expect(lstatErrno(mnt + "/tree") == ENOENT)
        #expect(lstatErrno(mnt + "/tree/x/y/z.txt") == ENOENT)
        // rename a file; rename a lower directory (EXDEV -> mv copies and deletes)
        sh("mv rename.txt renamed.txt && mv movedir moved", cwd: mnt)
        #expect(lstatErrno(mnt + "/rename.txt") == ENOENT)
        #expect(read(mnt + "/renamed.txt") == "rename me\n")
        #expect(lstatErrno(mnt + "/movedir") == ENOENT)
        #expect(read(mnt + "/moved/m1.txt") == "m1\n")
        #expect(read(mnt + "/moved/in/m2.txt") == "m2\n")
        // mkdir, symlink, hard link
        sh("mkdir newdir && mkdir -p newdir/a/b && ln -s ../append.txt newdir/sym && ln link.txt link2.txt", cwd: mnt)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: mnt + "/newdir/sym")) == "../append.txt")
        #expect(read(mnt + "/newdir/sym") == "lower\nmore\n")
        if let st = lstatPath(mnt + "/link2.txt") {
            #expect(st.st_nlink == 2)
        } else {
            Issue.record("link2.txt missing")
        }
        if let st = lstatPath(mnt + "/link.txt") { #expect(st.st_nlink == 2) }
        #expect(read(mnt + "/link2.txt") == "link me\n")
        // a directory removed and re-created must not show the old content (opaque)
        sh("rm -rf replace_dir && mkdir replace_dir && printf 'fresh\\n' > replace_dir/new.txt", cwd: mnt)
        #expect(listDir(mnt + "/replace_dir") == ["new.txt"])
        // write into a lower-only directory two levels down (parents copied up)
        sh("printf 'c\\n' > dir/sub/c.txt", cwd: mnt)
        #expect(listDir(mnt + "/dir/sub") == ["b.txt", "c.txt"])
        // attributes: chmod, touch -d, xattr, truncate
        sh(
            """
            chmod 0604 chmod.txt
            touch -d '2001-02-03 04:05:06.987654321' touch.txt
            setfattr -n user.x -v y xattr.txt
            truncate -s 10 trunc.txt
            """, cwd: mnt)
        if let st = lstatPath(mnt + "/chmod.txt") { #expect(st.st_mode & 0o7777 == 0o604) }
        if let st = lstatPath(mnt + "/touch.txt") {
            #expect(mtimeNs(st) == 981_173_106_987_654_321)
        }
        #expect(run(["getfattr", "--only-values", "-n", "user.x", "xattr.txt"], cwd: mnt).stdout == "y")
        #expect(read(mnt + "/trunc.txt") == String(repeating: "q", count: 10))
        // compile and run a C program inside the merged tree
        sh(
            """
            mkdir -p src && cd src
            printf '#include <stdio.h>\\nint main(void){puts("hello from the overlay");return 0;}\\n' > hello.c
            gcc -o hello hello.c
            """, cwd: mnt)
        #expect(run(["./src/hello"], cwd: mnt).stdout == "hello from the overlay\n")
        // tar the tree out, and extract it back into the mount
        let tarball = scratch + "/tree-\(UUID().uuidString.prefix(8)).tar"
        sh("tar -cf \(tarball) --exclude=./untarred . && mkdir untarred && tar -C untarred -xf \(tarball)", cwd: mnt)
        if let a = try? simpleListing(mnt).filter({ !$0.hasPrefix("./untarred") }),
            let b = try? simpleListing(mnt + "/untarred")
        {
            // The tree root's own line differs (the root of the mount vs the untarred dir).
            #expect(
                a.filter { !$0.hasPrefix(". ") } == b.filter { !$0.hasPrefix(". ") },
                "tar round trip differs")
        } else {
            Issue.record("listing for the tar round trip failed")
        }
        #expect(read(mnt + "/untarred/dir/a.txt") == "top a\n")
        unlink(tarball)
    }
}

/// Layer for the copy-up preservation test.
enum CopyUpLayer {
    static let mtime = "2003-04-05 06:07:08.123456789"
    static let mtimeNs: Int64 = 1_049_522_828_123_456_789
    static let dirMtime = "2004-05-06 07:08:09.111111111"
    static let dirMtimeNs: Int64 = 1_083_827_289_111_111_111

    static func build(_ lower: String) throws {
        let script = """
            printf 'keep my metadata\\n' > f.txt
            chown 1234:5678 f.txt
            chmod 0640 f.txt
            setfattr -n user.a -v 1 f.txt
            setfattr -n user.b -v two f.txt
            touch -d '\(mtime)' f.txt
            truncate -s 100M sparse
            printf 'head' | dd of=sparse conv=notrunc status=none
            printf 'middle' | dd of=sparse bs=1 seek=52428800 conv=notrunc status=none
            printf 'tail' | dd of=sparse bs=1 seek=104857596 conv=notrunc status=none
            mkdir d
            printf 'g\\n' > d/g.txt
            touch -d '\(dirMtime)' d
            """
        let r = run(["/bin/bash", "-euo", "pipefail", "-c", script], cwd: lower)
        guard r.ok else { throw HarnessError("building copy-up layer: \(r)") }
    }
}
