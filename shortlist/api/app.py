"""FastAPI app: thin routes over shortlist.recommend, with clear errors and no invented results.

The server process owns the embedded store (one process may open it); see README,
"One store, two processes".
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.middleware.trustedhost import TrustedHostMiddleware

from shortlist.api import auth, store_calls
from shortlist.api.limits import BodySizeLimit, short_errors
from shortlist.api.schemas import (
    EventRecorded,
    EventRequest,
    PointsRequest,
    ReindexRequest,
    Result,
    Results,
    SearchRequest,
)
from shortlist.errors import CloudServiceError, NotFound, SourceError, StoreUnavailable
from shortlist.recommend.events import EventLog
from shortlist.recommend.search import result_record
from shortlist.runtime import Components, components_for
from shortlist.settings import Settings
from shortlist.store.records import SearchFilters, vector_problem

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
VideoId = Annotated[str, Path_(pattern=r"^[0-9a-f]{16}$",
                               description="16 hex digits (see GET /videos)")]
UserId = Annotated[str, Path_(min_length=1, max_length=128)]
STORE_RETRY_S = 3.0  # after the store failed, answer 503 at once for this long, then try again


def _given_credential(request: Request) -> str | None:
    return request.headers.get("x-api-key")


def is_trusted(request: Request) -> bool:
    """The caller holds the API key, or, when none is set, this server's token (another
    Shortlist process of the user who started it)."""
    state = request.app.state
    return auth.matches(_given_credential(request),
                        state.settings.api_key or state.admin_token)


def require_admin(request: Request,
                  x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Writes to the catalogue always need a credential: the key, or this server's token."""
    if not is_trusted(request):
        hint = ("send the SHORTLIST_API_KEY the server was started with"
                if request.app.state.settings.api_key else
                "only Shortlist processes of the user who started `shortlist serve` may write "
                "(they read its token from the data dir)")
        raise HTTPException(status_code=401, detail=f"missing or wrong X-API-Key header: {hint}")


def require_store_reader(request: Request,
                         x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Store calls that only read: the key, or this server's token, which only this user's
    processes can read (from the data dir, where they could read the catalogue anyway)."""
    state = request.app.state
    if not auth.matches(_given_credential(request), state.settings.api_key, state.admin_token):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header: the "
                            "store is read through the server by this user's own Shortlist "
                            "processes (they read its token from the data dir) or with the key")


def require_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """User events need the key when SHORTLIST_API_KEY is set; the page sends them without."""
    if request.app.state.settings.api_key and not is_trusted(request):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


class StoreHealth:
    """Remembers a failure of the store for STORE_RETRY_S, so a store that is down costs
    each request nothing instead of a client time-out, and worker threads stay free."""

    def __init__(self) -> None:
        self.failed_at = 0.0
        self.reason = ""

    def check(self) -> None:
        if time.monotonic() - self.failed_at < STORE_RETRY_S:
            raise StoreUnavailable(self.reason)

    def failed(self, reason: str) -> None:
        self.failed_at, self.reason = time.monotonic(), reason


# async: FastAPI runs a plain `def` dependency in a worker thread, one more hand-over per
# request for two attribute reads.
async def get_store_components(request: Request) -> Components:
    request.app.state.store_health.check()
    return request.app.state.components


C = Annotated[Components, Depends(get_store_components)]
WRITE_WAIT_S = 30.0  # how long a write of points waits for a running reindex


def _results(hits, c: Components, limit: int, trusted: bool, offset: int = 0) -> Response:
    """The hits as a `Results` JSON body. Returned as a finished response: a model returned
    from a plain `def` route is validated again in a second worker thread."""
    urls = c.playable_urls()
    records = [result_record(h, urls) for h in hits]
    if not trusted:
        records = [public_record(r) for r in records]
    results = Results(results=[Result(**r) for r in records], limit=limit, offset=offset)
    return Response(results.model_dump_json(), media_type="application/json")


def public_record(record: dict) -> dict:
    """What a reader without a credential sees: no absolute server paths. A local source
    shows its file name, a local rendition its stream URL on this server."""
    out = {k: v for k, v in record.items() if k not in PRIVATE_FIELDS}
    source = out.get("source")
    if isinstance(source, str) and not source.startswith(("s3://", "http://", "https://")):
        out["source"] = Path(source).name
    url = out.get("url")
    if "url" in out and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        out["url"] = f"/videos/{record.get('video_id')}/stream"
    poster = out.get("poster_url")
    if poster and not poster.startswith(("http://", "https://")):
        out["poster_url"] = f"/videos/{record.get('video_id')}/poster"
    return out


PRIVATE_FIELDS = ("rendition_path", "poster_path", "_vectors")


# Runs a reindex in this process and returns its report; handed in by the composition root
# (cli.py), as the reindex is a Prefect flow and this package never imports Prefect.
Reindexer = Callable[[list[str] | None], dict]


def create_app(settings: Settings | None = None, reindexer: Reindexer | None = None,
               admin_token: str | None = None,
               allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """`admin_token`: the credential of this user's other processes (made by `serve`); when
    none is given, one is made here that nobody else knows, so writes still need the key.
    `allowed_hosts`: Host header values served (default: the loopback names)."""
    settings = settings or Settings.load()
    app = FastAPI(title="Shortlist", version="0.1.0",
                  description="Search, more-like-this and recommendations over short videos.")
    app.state.settings = settings
    app.state.components = components_for(settings)
    app.state.events = EventLog(settings.events_path)
    app.state.admin_token = admin_token or secrets.token_urlsafe(32)
    app.state.store_health = StoreHealth()
    app.state.instance = secrets.token_hex(8)
    hosts = [*(allowed_hosts or LOOPBACK_HOSTS), *settings.allowed_hosts]
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(BodySizeLimit)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": short_errors(exc.errors())})

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable):
        app.state.store_health.failed(str(exc))
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(CloudServiceError)
    async def cloud_down(request: Request, exc: CloudServiceError):
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    # A bad value, or a tracked location a reindex cannot read: the caller's to fix.
    async def bad_value(request: Request, exc: Exception):
        return JSONResponse(status_code=400, content={"detail": str(exc)[:500]})

    app.add_exception_handler(ValueError, bad_value)
    app.add_exception_handler(SourceError, bad_value)

    # async: the page and /instance never wait for a worker thread a slow store holds.
    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/instance")
    async def instance() -> dict:
        """Which server this is: other processes check it against serve.json, so a file
        left by a server that is gone is never taken for a live one."""
        return {"instance": app.state.instance}

    @app.get("/healthz")
    def healthz(c: C) -> dict:
        return {"status": "ok", "videos": c.store().count()}

    @app.post("/search", response_model=Results)
    def post_search(body: SearchRequest, c: C, request: Request) -> Response:
        from shortlist.recommend.search import search

        f = body.filters
        filters = SearchFilters(tuple(f.tags), tuple(f.genres), f.min_duration_s,
                                f.max_duration_s, f.language, f.has_speech)
        hits = search(c.store(), c.embedder(), body.query, limit=body.limit,
                      offset=body.offset, filters=filters, video_embedder=c.video_embedder())
        return _results(hits, c, body.limit, is_trusted(request), body.offset)

    @app.get("/videos")
    def list_videos(c: C, request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> dict:
        fields = ("video_id", "source", "url", "title", "duration_s", "tags", "genres")
        rows = sorted(({k: p.get(k) for k in fields} for p in c.store().scroll()),
                      key=lambda r: str(r["source"]))
        page = rows[offset:offset + limit]
        if not is_trusted(request):
            page = [public_record(r) for r in page]
        return {"videos": page, "total": len(rows)}

    @app.get("/videos/{video_id}")
    def get_video(video_id: VideoId, c: C, request: Request) -> dict:
        record = c.store().get(video_id)
        if record is None:
            raise NotFound(f"no video with id {video_id!r}")
        return record if is_trusted(request) else public_record(record)

    @app.get("/videos/{video_id}/similar", response_model=Results)
    def get_similar(video_id: VideoId, c: C, request: Request,
                    limit: Annotated[int, Query(ge=1, le=100)] = 10,
                    at_s: Annotated[float | None, Query(ge=0, le=86_400)] = None) -> Response:
        """`at_s`: more like the moment playing at that second (a result's `start_s`)."""
        from shortlist.recommend.similar import similar

        hits = similar(c.store(), video_id, limit=limit, at_s=at_s)
        return _results(hits, c, limit, is_trusted(request))

    @app.get("/videos/{video_id}/stream", response_model=None)
    def stream(video_id: VideoId, c: C) -> FileResponse | RedirectResponse:
        """The rendition: a redirect to the configured bucket's copy, else the file, served
        only from the catalogue's renditions folder (whatever a payload says)."""
        record = c.store().get(video_id)
        if record is None:
            raise NotFound(f"no video with id {video_id!r}")
        published = c.playable_urls().published(record)
        if published:
            return RedirectResponse(published, status_code=307)  # presigned now: never stale
        path = rendition_file(record, settings)
        if path is None:
            raise NotFound(f"the rendition of {video_id} is not in the catalogue's renditions "
                           "folder (re-ingest the video)")
        return FileResponse(path, media_type="video/mp4")

    @app.get("/videos/{video_id}/poster", response_model=None)
    def poster(video_id: VideoId, c: C) -> FileResponse | RedirectResponse:
        """The poster: a redirect to the bucket's copy, else the file, served only from the
        catalogue's renditions folder (whatever a payload says)."""
        record = c.store().get(video_id)
        if record is None:
            raise NotFound(f"no video with id {video_id!r}")
        published = c.playable_urls().published(record, "poster_s3")
        if published:
            return RedirectResponse(published, status_code=307)
        path = rendition_file({"rendition_path": record.get("poster_path")}, settings)
        if path is None:
            raise NotFound(f"{video_id} has no poster (it was ingested before posters were)")
        return FileResponse(path, media_type="image/jpeg")

    @app.post("/users/{user_id}/events", status_code=201, response_model=EventRecorded,
              dependencies=[Depends(require_key)])
    def post_event(user_id: UserId, body: EventRequest, c: C) -> EventRecorded:
        if c.store().get(body.video_id) is None:
            raise NotFound(f"no video with id {body.video_id!r}")
        e = app.state.events.record(user_id, body.video_id, body.kind, body.seconds)
        return EventRecorded(**e.__dict__)

    @app.get("/users/{user_id}/recommendations", response_model=Results)
    def get_recommendations(user_id: UserId, c: C, request: Request,
                            limit: Annotated[int, Query(ge=1, le=100)] = 10,
                            prefer: Annotated[str | None, Query(max_length=500)] = None
                            ) -> Response:
        from shortlist.recommend.recommend import recommend

        hits = recommend(c.store(), app.state.events, user_id, limit=limit, prefer=prefer,
                         embedder=c.embedder())
        return _results(hits, c, limit, is_trusted(request))

    reindex_running = threading.Lock()  # one reindex at a time
    # Held by a reindex for its whole run and, briefly, by each write of points.
    store_writes = threading.Lock()

    @app.post("/admin/points", dependencies=[Depends(require_admin)])
    def post_points(body: PointsRequest, c: C) -> dict:
        """Upsert catalogue points made by an ingest in another process: while this server
        owns the embedded store, that is how `shortlist ingest` and worker runs write."""
        # A reindex copies the live points into a new index: a point written meanwhile would
        # be left out of it, so writes wait for the reindex, up to a point.
        if not store_writes.acquire(timeout=WRITE_WAIT_S):
            raise HTTPException(status_code=409, detail="a reindex is running: ingest again "
                                "when it has finished (`shortlist ingest` skips what is done)")
        try:
            store = c.store()
            for i, p in enumerate(body.points):
                if rendition_file(p.payload.model_dump(), settings, must_exist=False) is None:
                    raise HTTPException(status_code=422, detail=[{
                        "loc": ["body", "points", i, "payload", "rendition_path"],
                        "msg": "must name a file in the catalogue's renditions folder",
                        "type": "value_error"}])
                for name, vector in p.dense.items():
                    problem = vector_problem(name, vector, store.sizes.get(name))
                    if problem:
                        raise HTTPException(status_code=422, detail=[{
                            "loc": ["body", "points", i, "dense", name], "type": "value_error",
                            "msg": f"dense.{name} {problem}"}])
            store.upsert([p.to_point() for p in body.points])
        finally:
            store_writes.release()
        return {"upserted": len(body.points)}

    @app.get("/admin/store/scroll", dependencies=[Depends(require_store_reader)])
    def get_store_scroll(c: C, batch: Annotated[int, Query(ge=1, le=1000)] = 256
                         ) -> StreamingResponse:
        """Every payload, one JSON line each, read from the store as the client reads; then
        `{"_end": count}`, so that a stream cut short is an error, not a smaller catalogue."""
        def lines() -> Iterator[str]:
            count = 0
            for payload in c.store().scroll(batch):
                count += 1
                yield json.dumps(payload, ensure_ascii=False) + "\n"
            yield json.dumps({"_end": count}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.post("/admin/store/{operation}", dependencies=[Depends(require_store_reader)])
    def post_store_call(operation: str, c: C, request: Request,
                        arguments: Annotated[dict[str, Any], Body()]) -> dict:
        """One call of the store interface from this user's other processes (ServedStore):
        reads with the key or token, writes only as /admin/points allows them."""
        if operation not in store_calls.WRITES:
            return {"result": store_calls.call(c.store(), operation, arguments)}
        require_admin(request)
        if not store_writes.acquire(timeout=WRITE_WAIT_S):
            raise HTTPException(status_code=409, detail="a reindex is running: try again when "
                                "it has finished")
        try:
            return {"result": store_calls.call(c.store(), operation, arguments)}
        finally:
            store_writes.release()

    @app.post("/admin/reindex", dependencies=[Depends(require_admin)])
    def post_reindex(body: ReindexRequest) -> dict:
        """Reindex in this process (it owns the store): search keeps answering meanwhile,
        and the new index is switched in at the end."""
        if reindexer is None:
            raise HTTPException(status_code=501, detail="this server was started without "
                                "reindex support: start it with `shortlist serve`")
        if not reindex_running.acquire(blocking=False):
            raise HTTPException(status_code=409, detail="a reindex is already running")
        try:
            with store_writes:  # waits for a write of points in flight, then holds writes off
                return reindexer(body.tracked)
        finally:
            reindex_running.release()

    return app


def rendition_file(record: dict, settings: Settings, must_exist: bool = True) -> Path | None:
    """The record's rendition if it lies inside the renditions folder, symlinks resolved."""
    name = record.get("rendition_path")
    if not isinstance(name, str) or not name:
        return None
    root = settings.media_dir.resolve()
    path = Path(name).resolve()
    if not path.is_relative_to(root) or path == root:
        return None
    return path if path.is_file() or not must_exist else None

