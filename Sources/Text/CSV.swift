import Foundation

/// RFC 4180 CSV: records separated by CRLF or LF, fields by commas; a field in double quotes may hold
/// commas, line breaks and `""` (an escaped quote). Each record remembers the line it starts on.
public enum CSV {
    public struct Record: Equatable, Sendable {
        public var fields: [String]
        public var line: Int
    }

    /// Errors (file:line): a quote inside an unquoted field, text after a closing quote, an unterminated
    /// quoted field (reported at the line where it opened).
    public static func parse(_ text: String, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1, recordLine = 1, quoteLine = 0
        var inQuotes = false, afterQuote = false, fieldStarted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            afterQuote = false
            fieldStarted = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(fields: fields, line: recordLine)) }
            fields = []
        }
        while let c = pending ?? scalars.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    let next = scalars.next()
                    if next == "\"" { field.append("\"") } else { inQuotes = false; afterQuote = true; pending = next }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case ",":
                endField()
            case "\r":
                let next = scalars.next()
                if next != "\n" { pending = next }
                fallthrough
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            case "\"":
                guard !fieldStarted else { throw TextError(file: file, line: line, "quote inside an unquoted field") }
                inQuotes = true
                fieldStarted = true
                quoteLine = line
            default:
                guard !afterQuote else { throw TextError(file: file, line: line, "text after the closing quote of a field") }
                field.append(c)
                fieldStarted = true
            }
        }
        if inQuotes { throw TextError(file: file, line: quoteLine, "quoted field never closed") }
        if fieldStarted || !fields.isEmpty { endRecord() }
        return records
    }

    /// Records as column-name -> value rows, using the first record as header. Every record must have
    /// the header's number of fields; `required` columns must exist.
    public static func readTable(_ url: URL, required: [String]) throws -> [(row: [String: String], line: Int)] {
        let name = url.path
        let records = try parse(try TextFile.string(url), file: name)
        guard let header = records.first else { throw TextError(file: name, "empty CSV file") }
        for column in required where !header.fields.contains(column) {
            throw TextError(file: name, line: header.line, "missing column '\(column)' (have \(header.fields))")
        }
        return try records.dropFirst().map { record in
            guard record.fields.count == header.fields.count else {
                throw TextError(file: name, line: record.line, "\(record.fields.count) fields, header has \(header.fields.count)")
            }
            return (Dictionary(uniqueKeysWithValues: zip(header.fields, record.fields)), record.line)
        }
    }
}

/// Synthetic-Persona-Chat (Jandaghi et al. 2023) CSV: columns `user 1 personas`, `user 2 personas`
/// (one sentence per line) and `Best Generated Conversation` (lines `User 1: ...` / `User 2: ...`).
///
/// The conversations are LLM output, so the reader is lenient inside a conversation and strict about its
/// shape: markdown emphasis around the speaker tag (`*User 2:*`, `* * User 1: * *`) is stripped; empty
/// lines, `* * *` separators and stage directions in brackets (`[Later]`, `(The next day)`) are skipped;
/// any other untagged line continues the previous turn. A conversation with no speaker tag at all is read
/// as alternating lines, User 1 first (2 such rows in the shared files); an empty conversation is dropped
/// and counted (1 row). A row with an empty persona is an error naming the file and line.
public enum SyntheticPersonaChat {
    public static let columns = ["user 1 personas", "user 2 personas", "Best Generated Conversation"]

    /// Counts of the lenient repairs made while reading.
    public struct Repairs: Equatable, Sendable {
        public var skippedLines = 0
        public var continuationLines = 0
        /// Conversations without any `User n:` tag, read as alternating lines.
        public var untaggedConversations = 0
        /// Rows with an empty conversation, dropped.
        public var emptyConversations = 0
    }

    public static func read(_ url: URL, source: String) throws -> (dialogues: [PersonaDialogue], repairs: Repairs) {
        var repairs = Repairs()
        let rows = try CSV.readTable(url, required: columns)
        let dialogues = try rows.enumerated().compactMap { index, entry -> PersonaDialogue? in
            let personas = try [columns[0], columns[1]].map { column -> [String] in
                let sentences = entry.row[column]!.split(whereSeparator: \.isNewline)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                if sentences.isEmpty { throw TextError(file: url.path, line: entry.line, "empty '\(column)'") }
                return sentences
            }
            let turns = parseConversation(entry.row[columns[2]]!, repairs: &repairs)
            if turns.isEmpty {
                repairs.emptyConversations += 1
                return nil
            }
            return PersonaDialogue(source: source, index: index + 1, personas: personas, turns: turns)
        }
        return (dialogues, repairs)
    }

    /// Turns of one conversation cell; User 1 is speaker 0.
    public static func parseConversation(_ text: String, repairs: inout Repairs) -> [Utterance] {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !lines.isEmpty && !lines.contains(where: { $0.drop(while: { $0 == "*" || $0 == " " }).hasPrefix("User ") }) {
            repairs.untaggedConversations += 1
            return lines.enumerated().map { Utterance(speaker: $0.offset % 2, text: $0.element) }
        }
        var turns: [Utterance] = []
        for rawLine in lines {
            var line = Substring(rawLine.trimmingCharacters(in: .whitespaces))
            let stripped = line.drop(while: { $0 == "*" || $0 == " " })
            if let speaker = ["User 1:": 0, "User 2:": 1].first(where: { stripped.hasPrefix($0.key) }) {
                line = stripped.dropFirst(speaker.key.count)
                let text = line.drop(while: { $0 == "*" || $0 == " " }).trimmingCharacters(in: .whitespaces)
                let cleaned = text.hasSuffix("*") ? String(text.reversed().drop(while: { $0 == "*" || $0 == " " }).reversed()) : text
                turns.append(Utterance(speaker: speaker.value, text: cleaned))
                continue
            }
            let isDirection = line.allSatisfy({ $0 == "*" || $0 == " " })
                || (line.hasPrefix("[") && line.hasSuffix("]")) || (line.hasPrefix("(") && line.hasSuffix(")"))
            if isDirection || turns.isEmpty {
                repairs.skippedLines += 1
            } else {
                turns[turns.count - 1].text += " " + line
                repairs.continuationLines += 1
            }
        }
        return turns.filter { !$0.text.isEmpty }
    }
}

/// PAML's persona clusters: `persona_map_<split>.json`, cluster id -> variants, each a list of sentences.
public enum PersonaMap {
    public static func read(_ url: URL) throws -> [String: [[String]]] {
        let data = try TextFile.data(url)
        do {
            return try JSONDecoder().decode([String: [[String]]].self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw TextError(file: url.path, "invalid JSON: \(context.debugDescription) \(context.underlyingError.map { "\($0)" } ?? "")")
        } catch let DecodingError.typeMismatch(_, context) {
            throw TextError(file: url.path, "expected {cluster id: [[sentence]]} at \(context.codingPath.map(\.stringValue).joined(separator: "/")): \(context.debugDescription)")
        } catch {
            throw TextError(file: url.path, "expected {cluster id: [[sentence]]}: \(error)")
        }
    }
}
