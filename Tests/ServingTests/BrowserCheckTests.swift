import Foundation
import Testing

/// The real-browser check of the ranking page (scripts/browser-check: headless Chromium ranks
/// candidates on /label, the SQLite database is checked, screenshots are saved). It builds `rlhf`
/// and needs Chromium, so it only runs when asked: `RLHF_BROWSER_CHECK=1 swift test`.
@Suite struct BrowserCheckTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RLHF_BROWSER_CHECK"] == "1"))
    func rankingPageWorksInHeadlessChromium() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/browser-check")
        process.currentDirectoryURL = root
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/browser-check failed; see its output above")
    }
}
