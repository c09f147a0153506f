import Testing
@testable import SwitchGymIO

@Suite("HDF5File listing and element types")
struct HDF5ListingTests {
    @Test("datasetPaths walks nested groups; elementType reports the stored type")
    func listAndTypes() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeDirectory(dir) }
        let path = dir + "/l.h5"
        do {
            let f = try HDF5File.create(path: path)
            try f.createGroup("/b/c")
            try f.write("/b/c/w", [Float(1), 2], compression: .none)
            try f.write("/b/d", [Double(1)], compression: .none)
            try f.write("/a", [UInt64(3)], compression: .none)
            try f.write("/i", [Int32(3)], compression: .none)
            try f.writeStrings("/s", ["x"])
            try f.createGroup("/empty")
            try f.close()
        }
        let f = try HDF5File.open(path: path)
        #expect(try f.datasetPaths() == ["/a", "/b/c/w", "/b/d", "/i", "/s"])
        #expect(try f.children(of: "/b").map(\.name) == ["c", "d"])
        #expect(try f.children(of: "/b").map(\.kind) == [.group, .dataset])
        #expect(try f.children(of: "/empty").isEmpty)
        #expect(try f.elementType(of: "/b/c/w") == .float(bits: 32))
        #expect(try f.elementType(of: "/b/d") == .float(bits: 64))
        #expect(try f.elementType(of: "/a") == .unsignedInteger(bits: 64))
        #expect(try f.elementType(of: "/i") == .signedInteger(bits: 32))
        #expect(try f.elementType(of: "/s") == .variableString)
        #expect(throws: SwitchGymIOError.self) { try f.elementType(of: "/nope") }
    }
}
