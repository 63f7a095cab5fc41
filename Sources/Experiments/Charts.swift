import Foundation

/// A small dependency-free SVG line chart: one polyline with markers per series, axes with ticks.
/// `dashed`: names of series drawn dashed with hollow points (reference curves, such as a paper's, beside ours).
public func lineChartSVG(title: String, xLabel: String, yLabel: String, series: [(String, [(Double, Double)])],
                         dashed: Set<String> = []) -> String {
    let (width, height, left, right, top, bottom) = (640.0, 400.0, 70.0, 20.0, 40.0, 60.0)
    let points = series.flatMap(\.1)
    let xs = points.map(\.0), ys = points.map(\.1)
    let (xMin, xMax) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
    let pad = ((ys.max() ?? 1) - (ys.min() ?? 0)) * 0.1 + 1e-6
    let (yMin, yMax) = ((ys.min() ?? 0) - pad, (ys.max() ?? 1) + pad)
    func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * (width - left - right) }
    func py(_ y: Double) -> Double { height - bottom - (y - yMin) / (yMax - yMin) * (height - top - bottom) }
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="22" text-anchor="middle" font-size="14">\(title)</text>
    <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
    <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
    <text x="\(width / 2)" y="\(height - 15)" text-anchor="middle">\(xLabel)</text>
    <text x="18" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 18 \(height / 2))">\(yLabel)</text>

    """
    for x in Set(xs).sorted() {
        svg += "<text x=\"\(px(x))\" y=\"\(height - bottom + 18)\" text-anchor=\"middle\">\(Int(x))</text>\n"
    }
    for i in 0...4 {
        let y = yMin + Double(i) / 4 * (yMax - yMin)
        svg += "<text x=\"\(left - 8)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">" + String(format: "%.1f", y) + "</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(py(y))\" x2=\"\(width - right)\" y2=\"\(py(y))\" stroke=\"#ddd\"/>\n"
    }
    for (index, (name, values)) in series.enumerated() {
        let color = colors[index % colors.count]
        let path = values.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " ")
        let isDashed = dashed.contains(name)
        svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(isDashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\"/>\n"
        for (x, y) in values {
            svg += "<circle cx=\"\(px(x))\" cy=\"\(py(y))\" r=\"4\" fill=\"\(isDashed ? "white" : color)\" stroke=\"\(color)\"/>\n"
        }
        let ly = top + 10 + Double(index) * 18
        svg += "<rect x=\"\(width - right - 260)\" y=\"\(ly - 9)\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
        svg += "<text x=\"\(width - right - 242)\" y=\"\(ly + 1)\">\(name)</text>\n"
    }
    return svg + "</svg>\n"
}
