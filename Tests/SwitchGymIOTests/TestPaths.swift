import Foundation

/// A fresh temporary folder per test, removed by the caller's `defer`.
func makeTemporaryDirectory(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "switchgym-io-\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func removeDirectory(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

func listDirectory(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}
