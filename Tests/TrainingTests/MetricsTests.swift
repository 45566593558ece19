import Foundation
import Testing
import Training

@Test func metricsLogAppendsOneObjectPerStepAndTruncatesOnResume() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("metrics.jsonl")
    do {
        let log = try MetricsLog(url: url)
        for step in 1...5 {
            try log.append(
                step: step, ["loss": .number(4 - Double(step) * 0.5), "lr": 3e-4, "stage": "pretrain"])
        }
        try log.append(step: 6, metrics: ["loss": .nan])
    }
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 6)
    #expect(lines[0] == #"{"step":1,"loss":3.5,"lr":0.0003,"stage":"pretrain"}"#)
    #expect(lines[5] == #"{"step":6,"loss":"nan"}"#)
    let records = try MetricsLog.read(url)
    #expect(records.count == 6 && records[5]["loss"]?.doubleValue?.isNaN == true)

    // A crash after step 6 cut the last line; resume from the checkpoint at step 4.
    var data = try Data(contentsOf: url)
    data.append(Data(#"{"step":7,"lo"#.utf8))
    try data.write(to: url)
    let resumed = try MetricsLog(url: url, keepingStepsThrough: 4)
    try resumed.append(step: 5, metrics: ["loss": 1.25])
    let after = try MetricsLog.read(url)
    #expect(after.compactMap { $0["step"]?.intValue } == [1, 2, 3, 4, 5])
    #expect(after.last?["loss"]?.doubleValue == 1.25)
}

@Test func progressLineShowsStepLossSpeedRateAndETA() {
    let line = ProgressLine.format(
        step: 250, totalSteps: 1000, loss: 3.45678, tokensPerSecond: 12_345,
        learningRate: 3e-4, elapsedSeconds: 50, barWidth: 8)
    #expect(line == "step  250/1000 [██      ]  25% │ loss 3.4568 │ 12.3k tok/s │ lr 3.00e-04 │ ETA 2m30s")
    // After a resume at step 200 only this session's 50 steps set the speed.
    let resumed = ProgressLine.format(
        step: 250, totalSteps: 1000, startStep: 200, elapsedSeconds: 50, barWidth: 4)
    #expect(resumed.hasSuffix("ETA 12m30s"))
    #expect(
        ProgressLine.format(step: 10, totalSteps: 10, elapsedSeconds: 3725, barWidth: 2).hasSuffix(
            "done in 1h02m"))
    #expect(
        ProgressLine.format(step: 0, totalSteps: 10, loss: .nan, elapsedSeconds: 0, barWidth: 0).contains(
            "loss nan"))
    #expect(ProgressLine.duration(37) == "37s" && ProgressLine.duration(90_000) == "1d01h")
    #expect(ProgressLine.compact(950) == "950" && ProgressLine.compact(4_560_000) == "4.56M")
}
