import Foundation
import Hummingbird
@testable import Serving

/// A server around the scripted backend, with an in-memory feedback store.
struct TestServer {
    let backend: ScriptedBackend
    let engine: InferenceEngine
    let store: FeedbackStore
    let labels: LabelService
    let configuration: ServerConfiguration

    init(
        apiKey: String? = nil, maxBodyBytes: Int = 1 << 16, contextLength: Int = 128,
        candidates: [LabelService.LabelCandidate] = [], prompts: [String] = [],
        stepDelay: Duration = .zero, idleTimeout: Duration? = .seconds(30), maxBatchRows: Int = 8
    ) throws {
        backend = ScriptedBackend(modelID: "tiny", contextLength: contextLength, stepDelay: stepDelay)
        engine = InferenceEngine(backend: backend, maxBatchRows: maxBatchRows)
        store = try FeedbackStore()
        labels = LabelService(
            store: store, engine: engine, candidates: candidates, prompts: prompts,
            responsesPerTask: 3, maxTokens: 64)
        var configuration = ServerConfiguration(apiKey: apiKey, maxBodyBytes: maxBodyBytes)
        configuration.idleTimeout = idleTimeout
        self.configuration = configuration
    }

    /// The application on an ephemeral loopback port; `onServerRunning` receives the port.
    func application(onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        var configuration = self.configuration
        configuration.port = 0
        return ServingRouter.application(
            service: OpenAIService(engine: engine), labels: labels,
            configuration: configuration, onServerRunning: onServerRunning)
    }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] ?? [:]
}

func body(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

extension [String: Any] {
    subscript(path path: String...) -> Any? {
        var value: Any? = self
        for key in path {
            if let index = Int(key), let array = value as? [Any] {
                value = array.indices.contains(index) ? array[index] : nil
            } else {
                value = (value as? [String: Any])?[key]
            }
        }
        return value
    }
}

/// The `data:` payloads of a server-sent-events body.
func events(_ buffer: ByteBuffer) -> [String] {
    String(buffer: buffer).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { line in
        line.hasPrefix("data: ") ? String(line.dropFirst(6)) : "<not data: \(line)>"
    }
}
