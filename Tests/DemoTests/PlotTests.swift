import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import Testing
import Training
@testable import Demo

@Test func linePlotRendersWellFormedSVGWithSeriesAxesAndLegend() throws {
    var plot = LinePlot(
        title: "Loss <train & eval>", xLabel: "step", yLabel: "loss",
        series: [
            .init(name: "train", values: (0..<50).map { 5 * exp(-Double($0) / 15) + 0.5 }),
            .init(name: "eval", points: [(0, 5), (10, 3), (20, .nan), (30, 1.2), (40, 1.0)]),
        ])
    let svg = plot.svg()
    let doc = try XMLDocument(xmlString: svg)
    #expect(doc.rootElement()?.name == "svg")
    // train is one line; eval is split by the NaN into a line and a line.
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
    #expect(svg.contains("Loss &lt;train &amp; eval&gt;"))
    #expect(svg.contains(">train</text>") && svg.contains(">eval</text>"))
    #expect(svg.contains(">step</text>") && svg.contains(">loss</text>"))
    // Round-number ticks on the x axis.
    #expect(svg.contains(">0</text>") && svg.contains(">10</text>") && svg.contains(">40</text>"))

    // Opt-in: write the SVG for a look (e.g. `rsvg-convert plot.svg -o plot.png`).
    if let out = ProcessInfo.processInfo.environment["RLHF_PLOT_OUT"] {
        try plot.write(to: URL(fileURLWithPath: out))
    }
    plot.logY = true
    #expect(try XMLDocument(xmlString: plot.svg()).rootElement() != nil)
}
