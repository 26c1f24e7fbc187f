import Glibc

/// The results table: per workload and system the median seconds, the ratio to kernel overlayfs, the
/// spread, the daemon's CPU seconds and peak RSS; then the geometric mean of the ratios per system.
struct Report {
    let workloads: [String]
    let systems: [System]
    let results: [String: [System: [Sample]]]
    let errors: [String: [System: String]]

    func render() -> String {
        var rows: [[String]] = [["workload", "system", "median s", "x kernel", "min-max s", "daemon cpu s", "peak RSS MiB"]]
        var logRatios: [System: [Double]] = [:]
        var peak: [System: Double] = [:]
        for w in workloads {
            let kernel = results[w]?[.kernel].flatMap { median($0.map(\.seconds)) }
            for (i, s) in systems.enumerated() {
                let label = i == 0 ? w : ""
                guard let samples = results[w]?[s], let med = median(samples.map(\.seconds)) else {
                    rows.append([label, s.rawValue, "failed", "", String((errors[w]?[s] ?? "no result").prefix(60)), "", ""])
                    continue
                }
                var ratio = ""
                if let k = kernel, k > 0 {
                    ratio = fmt(med / k, 2)
                    if s != .kernel { logRatios[s, default: []].append(log(max(med / k, 1e-6))) }
                }
                let lo = samples.map(\.seconds).min() ?? med
                let hi = samples.map(\.seconds).max() ?? med
                let cpu = median(samples.compactMap(\.cpu)).map { fmt($0, 2) } ?? "-"
                let rssMax = samples.compactMap(\.rss).max()
                if let r = rssMax { peak[s] = max(peak[s] ?? 0, r) }
                rows.append([label, s.rawValue, fmt(med, 3), ratio, "\(fmt(lo, 3))-\(fmt(hi, 3))", cpu,
                             rssMax.map { fmt($0, 1) } ?? "-"])
            }
        }
        var out = table(rows)
        out += "\n"
        for s in systems where s != .kernel {
            let l = logRatios[s] ?? []
            let g = l.isEmpty ? "-" : fmt(exp(l.reduce(0, +) / Double(l.count)), 2)
            let rss = peak[s].map { fmt($0, 1) } ?? "-"
            out += "geometric mean of ratios to kernel, \(s.rawValue): \(g) over \(l.count) workloads; peak RSS \(rss) MiB\n"
        }
        return out
    }

    func table(_ rows: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: rows.first?.count ?? 0)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for (n, r) in rows.enumerated() {
            var line = ""
            for (i, c) in r.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                line += i < 2 ? c + pad : pad + c  // text left, numbers right
                if i < r.count - 1 { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
            if n == 0 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" }
        }
        return out
    }
}

func median(_ xs: [Double]) -> Double? {
    guard !xs.isEmpty else { return nil }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Fixed-point formatting without Foundation.
func fmt(_ x: Double, _ decimals: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let v = (abs(x) * scale).rounded()
    let whole = Int(v / scale)
    let frac = Int(v - Double(whole) * scale)
    var f = String(frac)
    while f.count < decimals { f = "0" + f }
    return (x < 0 ? "-" : "") + String(whole) + (decimals > 0 ? "." + f : "")
}
