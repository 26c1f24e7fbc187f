/// Splitting of `-o` lists, fuse_opt style: entries separated by ',', `\,` is a literal comma.
/// Other backslash sequences are kept for the option's own grammar (e.g. `\:` in lowerdir).
enum OptionList {
    static func split(_ list: String) -> [String] {
        var entries: [String] = []
        var current = ""
        var escaped = false
        for ch in list {
            if escaped {
                if ch != "," { current.append("\\") }
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "," {
                entries.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        if escaped { current.append("\\") }
        entries.append(current)
        return entries.filter { !$0.isEmpty }
    }

    /// Splits a value on unescaped `separator`; `\sep` and `\\` are unescaped. Empty parts are kept.
    static func splitValue(_ value: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for ch in value {
            if escaped {
                if ch != separator && ch != "\\" { current.append("\\") }
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        if escaped { current.append("\\") }
        parts.append(current)
        return parts
    }

    /// A path value: `\\` becomes `\`, `\:` becomes `:`.
    static func unescapePath(_ value: String) -> String {
        splitValue(value, on: ":").joined(separator: ":")
    }

    /// "key=value" -> ("key", "value"); "flag" -> ("flag", nil).
    static func keyValue(_ entry: String) -> (key: String, value: String?) {
        guard let eq = entry.firstIndex(of: "=") else { return (entry, nil) }
        return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
    }
}
