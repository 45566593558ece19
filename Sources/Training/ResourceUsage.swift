import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's memory as the kernel counts it.
public enum ResourceUsage {
    /// Peak resident set size of this process so far, in bytes: Linux's `VmHWM` in
    /// `/proc/self/status`, else `getrusage`'s `ru_maxrss` (KiB on Linux, bytes on macOS).
    /// Zero when neither is available.
    public static var peakResidentBytes: Int {
        #if os(Linux)
            if let kib = statusField("VmHWM") { return kib * 1024 }
        #endif
        var usage = rusage()
        #if os(Linux)
            let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
            let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        #if os(Linux)
            return Int(usage.ru_maxrss) * 1024
        #else
            return Int(usage.ru_maxrss)
        #endif
    }

    /// Resets the peak (`VmHWM`) to the current resident size, so the next reading is the peak
    /// from now on: Linux's `echo 5 > /proc/self/clear_refs`. Elsewhere (or where refused) nothing
    /// changes and the peak stays the process's.
    public static func resetPeak() {
        #if os(Linux)
            guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
            try? handle.write(contentsOf: Data("5".utf8))
            try? handle.close()
        #endif
    }

    /// Current resident set size in bytes (`VmRSS`), or nil where `/proc` is not available.
    public static var residentBytes: Int? {
        statusField("VmRSS").map { $0 * 1024 }
    }

    /// Peak resident size in MiB (the `peak_rss_mb` metric), rounded to 0.1.
    public static var peakResidentMegabytes: Double {
        (Double(peakResidentBytes) / 1_048_576 * 10).rounded() / 10
    }

    /// The value (in kB) of one `Name:   1234 kB` line of `/proc/self/status`.
    static func statusField(_ name: String) -> Int? {
        // Read to the end: /proc files report size 0, which size-first reads take at its word.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status"),
            let data = try? handle.readToEnd()
        else { return nil }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
                .first
            return digits.flatMap { Int($0) }
        }
        return nil
    }
}
