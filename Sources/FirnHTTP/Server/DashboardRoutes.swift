import FirnCore
import FirnMetrics
import FirnWarehouse
import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import Prometheus

/// The routes: the page and its assets, the JSON API under `/api`, `/openapi.json`,
/// `/metrics`, `/healthz` and `/readyz`.
struct DashboardRoutes: Sendable {
    let api: DashboardAPI
    let configuration: DashboardConfiguration
    let registry: PrometheusCollectorRegistry
    /// Set when the server is shutting down: live streams end.
    let stopping: NIOLockedValueBox<Bool>
    /// Event streams open now (pages watching).
    let streams: NIOLockedValueBox<Int>

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(
            middleware: AccessMiddleware(
                token: configuration.token,
                routes: RouteTable(document: OpenAPIDocument.json(for: api.entity))
            )
        )
        router.add(middleware: NotFoundAsJSON())
        addPage(to: router)
        addHealth(to: router)
        addReads(to: router)
        addActions(to: router)
        return router
    }

    func addPage(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.asset(DashboardPage.html, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.asset(DashboardPage.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.asset(DashboardPage.style, type: "text/css; charset=utf-8") }
        // Made for each request: schema evolution may have added attributes since.
        router.get("/openapi.json") { [api] _, _ in
            Self.asset(OpenAPIDocument.json(for: api.entity), type: "application/json; charset=utf-8")
        }
    }

    func addHealth(to router: Router<BasicRequestContext>) {
        let api = api
        let registry = registry
        router.get("/healthz") { _, _ in JSONResponse.ok(API.Health(status: "ok", checks: [:])) }
        router.get("/readyz") { _, _ in
            let (ready, checks) = await api.readiness()
            return JSONResponse.ok(
                API.Health(status: ready ? "ready" : "not ready", checks: checks),
                status: ready ? .ok : .serviceUnavailable
            )
        }
        router.get("/metrics") { _, _ in
            if let flow = api.sources.flow {
                FirnMetrics.objects(state: "uploading", count: flow.ingestStatistics?.inFlight ?? 0)
                FirnMetrics.objects(state: "waiting", count: flow.pipe?.waitingObjects ?? 0)
                FirnMetrics.objects(state: "loading", count: flow.pipe?.claimedObjects ?? 0)
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16_384)
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer))
            )
        }
    }

    func addReads(to router: Router<BasicRequestContext>) {
        let api = api
        router.get("/api/status") { _, _ in await JSONResponse.answer { () throws(APIError) in try await api.status() } }
        router.get("/api/series") { _, _ in JSONResponse.ok(api.series.series) }
        router.get("/api/events") { _, _ in eventStream() }
        router.get("/api/loads") { request, _ in
            await JSONResponse.answer { () throws(APIError) in try await api.loads(try Self.page(request)) }
        }
        router.get("/api/loads/{id}") { _, context in
            await JSONResponse.answer { () throws(APIError) in try await api.load(try Self.id(context)) }
        }
        router.get("/api/loads/{id}/rejects") { request, context in
            await JSONResponse.answer { () throws(APIError) in
                try await api.rejects(load: try Self.id(context), try Self.page(request))
            }
        }
        router.get("/api/rejects") { request, _ in
            await JSONResponse.answer { () throws(APIError) in try await api.rejects(load: nil, try Self.page(request)) }
        }
        router.get("/api/history") { request, _ in
            await JSONResponse.answer { () throws(APIError) in
                try await api.history(keyText: try Self.required("key", request))
            }
        }
        router.get("/api/as-of") { request, _ in
            await JSONResponse.answer { () throws(APIError) in
                try await api.asOf(
                    timeText: try Self.required("time", request),
                    try Self.page(request, by: .key(api.entity))
                )
            }
        }
        router.get("/api/provenance") { request, _ in
            await JSONResponse.answer { () throws(APIError) in try await api.provenance(of: try Self.required("file", request)) }
        }
        router.get("/api/bulletins") { request, _ in
            await JSONResponse.answer { () throws(APIError) in
                try await api.bulletins(limit: try Self.page(request).limit)
            }
        }
        router.get("/api/tasks") { _, _ in await JSONResponse.answer { () throws(APIError) in try await api.tasks() } }
        router.get("/api/tasks/{name}/runs") { request, context in
            await JSONResponse.answer { () throws(APIError) in
                try await api.taskRuns(task: try Self.name(context), try Self.page(request))
            }
        }
        router.get("/api/task-runs") { request, _ in
            await JSONResponse.answer { () throws(APIError) in try await api.taskRuns(task: nil, try Self.page(request)) }
        }
        router.get("/api/workers") { _, _ in await JSONResponse.answer { () throws(APIError) in try await api.workers() } }
    }

    func addActions(to router: Router<BasicRequestContext>) {
        let api = api
        for action in ["suspend", "resume", "run"] {
            router.post("/api/tasks/{name}/\(action)") { _, context in
                await JSONResponse.answer { () throws(APIError) in
                    try await api.taskAction(try Self.name(context), action: action)
                }
            }
        }
    }

    /// Server-sent events: the status every ``DashboardConfiguration/eventInterval`` until the
    /// client goes or the server stops.
    func eventStream() -> Response {
        let api = api
        let interval = configuration.eventInterval
        let stopping = stopping
        let streams = streams
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                streams.withLockedValue { $0 += 1 }
                defer { streams.withLockedValue { $0 -= 1 } }
                while !stopping.withLockedValue({ $0 }) && !Task.isCancelled {
                    let body: Data
                    do { body = JSONResponse.data(try await api.status()) } catch {
                        body = JSONResponse.data(API.ErrorBody(error: (error as? APIError)?.message ?? "\(error)"))
                    }
                    var buffer = ByteBuffer(string: "event: status\ndata: ")
                    buffer.writeBytes(body)
                    buffer.writeString("\n\n")
                    try await writer.write(buffer)
                    try? await Task.sleep(for: interval)
                }
                try await writer.finish(nil)
            }
        )
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache",
                .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    static func page(_ request: Request, by cursor: ListingQuery.Cursor = .id) throws(APIError) -> PageRequest {
        let query = request.uri.queryParameters
        return try ListingQuery.pageRequest(limit: query["limit"], after: query["after"], cursor: cursor)
    }

    static func required(_ name: String, _ request: Request) throws(APIError) -> String {
        guard let value = request.uri.queryParameters[name[...]], !value.isEmpty else {
            throw .badRequest("the \(name) parameter is required")
        }
        return String(value)
    }

    static func id(_ context: BasicRequestContext) throws(APIError) -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw .badRequest("a load id is a positive whole number")
        }
        return id
    }

    static func name(_ context: BasicRequestContext) throws(APIError) -> String {
        guard let name = context.parameters.get("name"), !name.isEmpty else { throw .badRequest("a task name is required") }
        return name.removingPercentEncoding ?? name
    }
}

/// Unknown paths and methods answer JSON 404 / 405, like every other error.
struct NotFoundAsJSON<Context: RequestContext>: RouterMiddleware {
    @concurrent func handle(
        _ request: Request,
        context: Context,
        next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no such path: \(request.uri.path)" : "\(error.status)")
            return JSONResponse.error(APIError(error.status, message))
        } catch {
            return JSONResponse.error(APIError(.internalServerError, "\(error)"))
        }
    }
}
