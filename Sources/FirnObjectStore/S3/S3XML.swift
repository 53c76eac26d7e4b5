import Foundation
import NIOCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// One element of an S3 XML response: its name, its text and its child elements.
///
/// S3's responses are small documents (an error, one listing page, an upload id), so they are
/// parsed into this tree with Foundation's `XMLParser` and read by element name. Names are the
/// local names as written; S3's default namespace does not prefix them.
struct S3XMLElement: Sendable {
    var name: String
    var text: String
    var children: [S3XMLElement]

    /// The first child named `name`.
    func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

    /// Every child named `name`, in document order.
    func children(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses a document; `nil` when it is not well-formed XML (an empty body, an HTML page).
    static func parse(_ bytes: ByteBuffer) -> S3XMLElement? {
        let data = Data(bytes.readableBytesView)
        guard !data.isEmpty else { return nil }
        let parser = XMLParser(data: data)
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    /// Escapes text for an XML element's content or an attribute value.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Collects `XMLParser` events into a tree.
    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [S3XMLElement] = []
        var root: S3XMLElement?

        func parser(
            _ parser: XMLParser,
            didStartElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(S3XMLElement(name: elementName, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
            if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self) }
        }

        func parser(
            _ parser: XMLParser,
            didEndElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?
        ) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }
    }
}

/// The parts of S3's XML documents that ``S3Bucket`` reads and writes.
enum S3XML {
    /// An `<Error>` document's code and message.
    struct ErrorBody: Sendable, Equatable {
        var code: String
        var message: String
    }

    /// One object in a listing, its key still carrying the bucket's prefix.
    struct ListedObject: Sendable, Equatable {
        var key: String
        var size: Int64
        var etag: String
    }

    /// One `ListObjectsV2` page.
    struct ListPage: Sendable, Equatable {
        var objects: [ListedObject]
        var isTruncated: Bool
        var nextContinuationToken: String?
    }

    /// The code and message of an `<Error>` document, or `nil` when `body` is something else.
    static func error(_ body: ByteBuffer) -> ErrorBody? {
        guard let root = S3XMLElement.parse(body), root.name == "Error" else { return nil }
        return ErrorBody(code: root.value("Code") ?? "", message: root.value("Message") ?? "")
    }

    /// Reads a `<ListBucketResult>` page.
    static func listPage(_ body: ByteBuffer) -> ListPage? {
        guard let root = S3XMLElement.parse(body), root.name == "ListBucketResult" else { return nil }
        var objects: [ListedObject] = []
        for entry in root.children("Contents") {
            guard let key = entry.value("Key") else { continue }
            objects.append(
                ListedObject(
                    key: key,
                    size: Int64(entry.value("Size") ?? "") ?? 0,
                    etag: unquoted(entry.value("ETag") ?? "")
                )
            )
        }
        let token = root.value("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        return ListPage(
            objects: objects,
            isTruncated: root.value("IsTruncated") == "true",
            nextContinuationToken: token
        )
    }

    /// The `UploadId` of an `<InitiateMultipartUploadResult>`.
    static func uploadId(_ body: ByteBuffer) -> String? {
        guard let root = S3XMLElement.parse(body), root.name == "InitiateMultipartUploadResult" else { return nil }
        return root.value("UploadId").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The unquoted `ETag` of a `<CompleteMultipartUploadResult>` (moto names it
    /// `CompleteMultipartUploadResponse`).
    static func completedETag(_ body: ByteBuffer) -> String? {
        guard let root = S3XMLElement.parse(body), root.name.hasPrefix("CompleteMultipartUpload") else { return nil }
        return root.value("ETag").map(unquoted)
    }

    /// The `<CompleteMultipartUpload>` request body listing the parts in order.
    static func completeMultipartUpload(parts: [(number: Int, etag: String)]) -> String {
        var body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            body += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(S3XMLElement.escape(part.etag))</ETag></Part>"
        }
        return body + "</CompleteMultipartUpload>"
    }

    /// The `<CreateBucketConfiguration>` body naming a region other than `us-east-1`.
    static func createBucketConfiguration(region: String) -> String {
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<LocationConstraint>\(S3XMLElement.escape(region))</LocationConstraint></CreateBucketConfiguration>"
    }

    /// An ETag without the double quotes S3 puts around it (also when XML-escaped as `&quot;`).
    static func unquoted(_ etag: String) -> String {
        var text = Substring(etag.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        return String(text)
    }
}
