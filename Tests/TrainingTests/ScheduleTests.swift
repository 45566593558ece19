import Foundation
import Testing
import Training

private func near(_ a: Float, _ b: Double) -> Bool { abs(Double(a) - b) < 1e-6 }

@Test func cosineScheduleWarmsUpThenDecaysToTheFloor() {
    let s = LearningRateSchedule.cosine(peak: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1)
    #expect(near(s.learningRate(at: 0), 0.1))  // never zero on the first step
    #expect(near(s.learningRate(at: 4), 0.5))
    #expect(near(s.learningRate(at: 9), 1.0))
    #expect(near(s.learningRate(at: 10), 1.0))
    #expect(near(s.learningRate(at: 60), 0.55))  // halfway: floor + (peak − floor)/2
    #expect(near(s.learningRate(at: 35), 0.1 + 0.9 * 0.5 * (1 + cos(Double.pi / 4))))
    #expect(near(s.learningRate(at: 110), 0.1))
    #expect(near(s.learningRate(at: 500), 0.1))
}

@Test func linearScheduleDecaysInAStraightLine() {
    let s = LearningRateSchedule.linear(peak: 2, warmupSteps: 4, totalSteps: 104, minRatio: 0)
    #expect(near(s.learningRate(at: 0), 0.5))
    #expect(near(s.learningRate(at: 3), 2))
    #expect(near(s.learningRate(at: 4), 2))
    #expect(near(s.learningRate(at: 29), 1.5))
    #expect(near(s.learningRate(at: 54), 1))
    #expect(near(s.learningRate(at: 104), 0))
}

@Test func constantScheduleAndCodableRoundTrip() throws {
    let c = LearningRateSchedule.constant(3e-4, warmupSteps: 2)
    #expect(near(c.learningRate(at: 0), 1.5e-4))
    #expect(near(c.learningRate(at: 1), 3e-4))
    #expect(near(c.learningRate(at: 1000), 3e-4))
    let s = LearningRateSchedule.cosine(peak: 6e-4, warmupSteps: 100, totalSteps: 5000)
    let back = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(s))
    #expect(back == s)
    #expect((0..<5000).allSatisfy { back.learningRate(at: $0) == s.learningRate(at: $0) })
}
