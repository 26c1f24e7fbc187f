import LayerAPI

extension MemoryLayer {
    /// A description of every object, for comparing trees in tests: "path" -> "type perms
    /// uid:gid nlink detail", with work entries under "#work/". The root is "".
    public func dump() -> [String: String] {
        state.withLock { tree in
            var out: [String: String] = [:]
            func describe(_ node: Inode) -> String {
                let perms = String(node.mode & ModeBits.permissionMask, radix: 8)
                var s = "\(node.type) \(perms) \(node.uid):\(node.gid) n\(node.nlink)"
                switch node.type {
                case .regular: s += " size=\(node.data.count)"
                case .symlink: s += " -> \(String(decoding: node.target, as: UTF8.self))"
                case .characterDevice, .blockDevice: s += " rdev=\(node.rdev)"
                default: break
                }
                for x in node.xattrs {
                    s += " [\(String(decoding: x.name, as: UTF8.self))=\(x.value.count)b]"
                }
                return s
            }
            func walk(_ node: Inode, _ path: String) {
                out[path] = describe(node)
                for (name, ino) in node.entries {
                    guard let child = tree.inodes[ino] else { continue }
                    walk(child, path.isEmpty ? name.description : path + "/" + name.description)
                }
            }
            if let root = tree.inodes[tree.rootIno] { walk(root, "") }
            if let work = tree.inodes[tree.workIno] {
                for (name, ino) in work.entries {
                    guard let child = tree.inodes[ino] else { continue }
                    walk(child, "#work/" + name.description)
                }
            }
            return out
        }
    }
}
