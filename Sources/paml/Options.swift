import ArgumentParser
import Foundation
import Text

/// Where the real corpora are: --data, else $PAML_DATA, else ../shared/corpora.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Folder with the corpora (personachat/, glove/, nli/, crs/). Default: $PAML_DATA or ../shared/corpora.")
    var data: String?

    var corpusRoot: CorpusRoot { CorpusRoot(explicit: data) }

    func validate() throws {
        let root = corpusRoot
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("corpus folder \(root.url.path) not found (\(root.origin)); pass --data or set PAML_DATA")
        }
    }
}
