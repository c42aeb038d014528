"""FastAPI app: thin routes over shortlist.recommend, with clear errors and no invented results.

The server process owns the embedded store (one process may open it); see README,
"One store, two processes".
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from shortlist.api.schemas import (
    EventRecorded,
    EventRequest,
    PointsRequest,
    ReindexRequest,
    Result,
    Results,
    SearchRequest,
)
from shortlist.errors import NotFound, StoreUnavailable
from shortlist.recommend.events import EventLog
from shortlist.recommend.search import result_record
from shortlist.runtime import Components, components_for
from shortlist.settings import Settings
from shortlist.store.records import SearchFilters

STATIC = Path(__file__).parent / "static"


def get_components(request: Request) -> Components:
    return components_for(request.app.state.settings)


def require_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Write endpoints need the key when SHORTLIST_API_KEY is set."""
    expected = request.app.state.settings.api_key
    if expected and not (x_api_key and secrets.compare_digest(x_api_key, expected)):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


C = Annotated[Components, Depends(get_components)]
WRITE_WAIT_S = 30.0  # how long a write of points waits for a running reindex


def _results(hits, c: Components, limit: int, offset: int = 0) -> Results:
    urls = c.playable_urls()
    return Results(results=[Result(**result_record(h, urls)) for h in hits], limit=limit,
                   offset=offset)


# Runs a reindex in this process and returns its report; handed in by the composition root
# (cli.py), as the reindex is a Prefect flow and this package never imports Prefect.
Reindexer = Callable[[list[str] | None], dict]


def create_app(settings: Settings | None = None, reindexer: Reindexer | None = None) -> FastAPI:
    settings = settings or Settings.load()
    app = FastAPI(title="Shortlist", version="0.1.0",
                  description="Search, more-like-this and recommendations over short videos.")
    app.state.settings = settings
    app.state.events = EventLog(settings.events_path)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable):
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError):
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz")
    def healthz(c: C) -> dict:
        return {"status": "ok", "videos": c.store().count()}

    @app.post("/search", response_model=Results)
    def post_search(body: SearchRequest, c: C) -> Results:
        from shortlist.recommend.search import search

        f = body.filters
        filters = SearchFilters(tuple(f.tags), tuple(f.genres), f.min_duration_s,
                                f.max_duration_s, f.language, f.has_speech)
        hits = search(c.store(), c.embedder(), body.query, limit=body.limit,
                      offset=body.offset, filters=filters)
        return _results(hits, c, body.limit, body.offset)

    @app.get("/videos")
    def list_videos(c: C, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0)] = 0) -> dict:
        fields = ("video_id", "source", "url", "title", "duration_s", "tags", "genres")
        rows = sorted(({k: p.get(k) for k in fields} for p in c.store().scroll()),
                      key=lambda r: str(r["source"]))
        return {"videos": rows[offset:offset + limit], "total": len(rows)}

    @app.get("/videos/{video_id}")
    def get_video(video_id: str, c: C) -> dict:
        record = c.store().get(video_id)
        if record is None:
            raise NotFound(f"no video with id {video_id!r}")
        return record

    @app.get("/videos/{video_id}/similar", response_model=Results)
    def get_similar(video_id: str, c: C,
                    limit: Annotated[int, Query(ge=1, le=100)] = 10) -> Results:
        from shortlist.recommend.similar import similar

        hits = similar(c.store(), video_id, limit=limit)
        return _results(hits, c, limit)

    @app.get("/videos/{video_id}/stream", response_model=None)
    def stream(video_id: str, c: C) -> FileResponse | RedirectResponse:
        record = c.store().get(video_id)
        if record is None:
            raise NotFound(f"no video with id {video_id!r}")
        url = c.playable_urls().for_payload(record) or ""
        if url.startswith(("http://", "https://")):
            return RedirectResponse(url, status_code=307)  # presigned now: never stale
        path = Path(record.get("rendition_path") or "")
        if not path.is_file():
            raise NotFound(f"the rendition of {video_id} is missing from {path.parent}")
        return FileResponse(path, media_type="video/mp4")

    @app.post("/users/{user_id}/events", status_code=201, response_model=EventRecorded,
              dependencies=[Depends(require_key)])
    def post_event(user_id: str, body: EventRequest, c: C) -> EventRecorded:
        if c.store().get(body.video_id) is None:
            raise NotFound(f"no video with id {body.video_id!r}")
        e = app.state.events.record(user_id, body.video_id, body.kind, body.seconds)
        return EventRecorded(**e.__dict__)

    @app.get("/users/{user_id}/recommendations", response_model=Results)
    def get_recommendations(user_id: str, c: C,
                            limit: Annotated[int, Query(ge=1, le=100)] = 10,
                            prefer: Annotated[str | None, Query(max_length=500)] = None
                            ) -> Results:
        from shortlist.recommend.recommend import recommend

        hits = recommend(c.store(), app.state.events, user_id, limit=limit, prefer=prefer,
                         embedder=c.embedder())
        return _results(hits, c, limit)

    reindex_running = threading.Lock()  # one reindex at a time
    # Held by a reindex for its whole run and, briefly, by each write of points.
    store_writes = threading.Lock()

    @app.post("/admin/points", dependencies=[Depends(require_key)])
    def post_points(body: PointsRequest, c: C) -> dict:
        """Upsert catalogue points made by an ingest in another process: while this server
        owns the embedded store, that is how `shortlist ingest` and worker runs write."""
        # A reindex copies the live points into a new index: a point written meanwhile would
        # be left out of it, so writes wait for the reindex, up to a point.
        if not store_writes.acquire(timeout=WRITE_WAIT_S):
            raise HTTPException(status_code=409, detail="a reindex is running: ingest again "
                                "when it has finished (`shortlist ingest` skips what is done)")
        try:
            c.store().upsert([p.to_point() for p in body.points])
        finally:
            store_writes.release()
        return {"upserted": len(body.points)}

    @app.post("/admin/reindex", dependencies=[Depends(require_key)])
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
