"""The `shortlist` command: maps sub-commands to library functions.

Exit status: 0 success, 1 some work failed (or an id was not found), 2 usage error.
Each command imports only what it needs, so the quick ones start quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from shortlist.errors import NotFound, ShortlistError
from shortlist.settings import Settings
from shortlist.text import one_line


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.load()
    except ValueError as exc:
        print(f"shortlist: bad settings: {exc}", file=sys.stderr)
        return 2
    try:
        return args.handler(args, settings)
    except NotFound as exc:
        print(f"shortlist: {exc}", file=sys.stderr)
        return 1
    except ShortlistError as exc:
        print(f"shortlist: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"shortlist: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shortlist: interrupted; finished videos are kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `shortlist list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        from shortlist.runtime import close_all

        close_all()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shortlist", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command")

    c = sub.add_parser("ingest", help="ingest videos from files, folders, URLs or s3:// keys")
    c.add_argument("sources", nargs="+", metavar="SOURCE")
    c.set_defaults(handler=cmd_ingest)

    c = sub.add_parser("list", help="list the catalogue")
    c.add_argument("--json", action="store_true")
    c.add_argument("--failed", action="store_true", help="list the files that failed instead")
    c.set_defaults(handler=cmd_list)

    c = sub.add_parser("show", help="everything known about one video")
    c.add_argument("video_id", metavar="VIDEO_ID")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_show)

    c = sub.add_parser("search", help="search videos by meaning and keywords")
    c.add_argument("query", metavar="QUERY")
    c.add_argument("--limit", type=_positive_int, default=10)
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_search)

    c = sub.add_parser("watch", help="record that a user watched, liked or skipped a video")
    c.add_argument("user", metavar="USER")
    c.add_argument("video_id", metavar="VIDEO_ID")
    c.add_argument("--seconds", type=float, help="seconds watched")
    kind = c.add_mutually_exclusive_group()
    kind.add_argument("--liked", action="store_true")
    kind.add_argument("--skipped", action="store_true")
    c.set_defaults(handler=cmd_watch)

    c = sub.add_parser("recommend", help="what a user should watch next")
    c.add_argument("user", metavar="USER")
    c.add_argument("--limit", type=_positive_int, default=10)
    c.add_argument("--prefer", metavar="TEXT", help='stated taste, e.g. "sci-fi, dark tone"')
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_recommend)

    c = sub.add_parser("similar", help="more videos like this one")
    c.add_argument("video_id", metavar="VIDEO_ID")
    c.add_argument("--at", type=float, default=None, metavar="SECONDS",
                   help="like the moment playing at this second (see `search`'s @ m:ss)")
    c.add_argument("--limit", type=_positive_int, default=10)
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_similar)

    c = sub.add_parser("eval", help="search and recommendation quality against baselines")
    c.add_argument("corpus", nargs="?", default="samples/corpus", metavar="CORPUS_DIR",
                   help="a corpus with manifest.json and queries.json, already ingested")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_eval)

    c = sub.add_parser("s3-bridge", help="turn S3 notifications from an SQS queue into "
                       "Prefect events that trigger the ingest-s3-object deployment")
    c.add_argument("--queue", required=True, metavar="URL", help="the SQS queue URL")
    c.set_defaults(handler=cmd_s3_bridge)

    c = sub.add_parser("reindex", help="redo what changed stage versions invalidated, drop "
                       "videos whose tracked source vanished, switch the new index in")
    c.add_argument("--track", action="append", metavar="FOLDER_OR_S3_PREFIX",
                   help="a location whose vanished videos are dropped (repeatable; default: "
                   "the tracked_sources setting)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=cmd_reindex)

    c = sub.add_parser("copy-store", help="copy the embedded catalogue to a Qdrant server "
                       "(then set QDRANT_URL to use it)")
    c.add_argument("--to-url", required=True, help="the Qdrant server, e.g. http://host:6333")
    c.add_argument("--api-key", default=os.environ.get("QDRANT_API_KEY"),
                   help="its API key (default: $QDRANT_API_KEY)")
    c.set_defaults(handler=cmd_copy_store)

    c = sub.add_parser("serve", help="the HTTP API and the web page")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8000)
    c.set_defaults(handler=cmd_serve)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _blas_threads_per_task(settings: Settings) -> None:
    """Videos (ingest) and requests (serve) run in parallel threads; multi-threaded BLAS
    inside each of them only spins against the others. Set before numpy is first imported."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(settings.model_threads))


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    _blas_threads_per_task(settings)
    import time

    from shortlist.failures import FailureLog
    from shortlist.ingest_plan import plan_ingest
    from shortlist.pipeline import pipeline_fingerprint
    from shortlist.report import RunSummary
    from shortlist.runtime import components_for

    started = time.perf_counter()
    comps = components_for(settings)
    plan = plan_ingest(list(args.sources), comps.store(),
                       FailureLog(settings.data_dir / "failures.json"),
                       pipeline_fingerprint(comps.stage_versions()), settings.downloads_dir)
    if not plan.pending:
        summary = RunSummary(plan.settled, time.perf_counter() - started)
        print(summary.text())
        return summary.exit_code
    print(f"ingesting {len(plan.pending)} sources ({len(plan.settled)} already settled)…",
          flush=True)
    # While Prefect starts its server on one core: load the models, then decode videos
    # ahead of the flow, on the other.
    local = [p for p in plan.pending if Path(p).is_file()]
    threading.Thread(target=_prepare, args=(comps, local), daemon=True).start()
    # The terminal gets one line per video; failures are in the summary, full logs in the UI.
    _prefect_for_this_process(settings)
    from flows.ephemeral import start_tied_server

    server = start_tied_server()  # a killed ingest leaves no Prefect server behind
    from flows.ingest import ingest  # Prefect loads while its server starts

    server.wait_until_up()
    flow = ingest.with_options(task_runner=_task_runner(settings.max_parallel_videos))
    summary = flow(sources=list(plan.pending), prior=list(plan.settled))
    summary = RunSummary(summary.reports, time.perf_counter() - started)
    print(summary.text())
    return summary.exit_code


def _prepare(comps, local_files: list[str]) -> None:
    from shortlist.pipeline import transcode_ahead

    try:
        comps.warm_up()
    except Exception:  # noqa: BLE001 - a model that fails to load fails again, loudly, in its task
        pass
    transcode_ahead(local_files, comps.settings)


def _task_runner(workers: int):
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=max(1, workers))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    if args.failed:
        from shortlist.failures import FailureLog

        rows = FailureLog(settings.data_dir / "failures.json").all()
        if args.json:
            print(json.dumps(rows, indent=1, ensure_ascii=False))
        for r in [] if args.json else rows:
            print(f"{one_line(r['source'])}\t{one_line(r['error'])}")
        return 0
    fields = ("video_id", "source", "title", "duration_s", "tags")
    from shortlist.runtime import components_for

    payloads = list(components_for(settings).store().scroll())
    rows = [{k: p.get(k) for k in fields} for p in payloads]
    rows.sort(key=lambda r: str(r["source"]))
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['video_id']}  {r['duration_s']:7.1f}s  {one_line(r['title'])[:50]:50}  "
              f"{one_line(', '.join(r['tags'][:5]))}")
    if not rows:
        print("the catalogue is empty: run `shortlist ingest PATH` first", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.runtime import components_for

    record = components_for(settings).store().get(args.video_id)
    if record is None:
        raise NotFound(f"no video with id {args.video_id!r} (see `shortlist list`)")
    if args.json:
        print(json.dumps(record, indent=1, ensure_ascii=False))
        return 0
    for key in ("video_id", "title", "source", "url", "duration_s", "language", "genres",
                "tags", "moods", "description", "transcript", "ocr_text", "nsfw_score",
                "ingested_at"):
        value = record.get(key)
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        print(f"{key:>12}: {one_line(value)}")
    return 0


def _records(hits, comps) -> list[dict]:
    from shortlist.recommend.search import result_record

    urls = comps.playable_urls()
    return [result_record(h, urls) for h in hits]


def _open_in_background(store) -> None:
    """A cold `search` or `recommend` opens the store (loading the embedded shard takes
    ~0.3 s at 10k videos) on a second core while this one imports the ranking code, loads
    the text model and embeds the query. A failure here is left to the command itself,
    which meets it again and says so."""
    def open_store() -> None:
        with contextlib.suppress(Exception):  # reported by the command that follows
            store.count()

    threading.Thread(target=open_store, daemon=True).start()


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.recommend.search import search
    from shortlist.runtime import components_for

    comps = components_for(settings)
    store = comps.store()
    _open_in_background(store)
    records = _records(search(store, comps.embedder(), args.query, limit=args.limit,
                              video_embedder=comps.video_embedder()), comps)
    return _print_results(records, args.json, "no results (is the catalogue empty? see "
                          "`shortlist list`)")


def _print_results(records: list[dict], as_json: bool, empty_message: str) -> int:
    if as_json:
        print(json.dumps(records, indent=1, ensure_ascii=False))
        return 0
    if not records:
        print(empty_message, file=sys.stderr)
    for i, r in enumerate(records, start=1):
        print(f"{i:2}. {r['score']:.3f}  {r['video_id']}  {one_line(r['title'])[:60]}\n"
              f"    {one_line(', '.join(r['genres']))} | {one_line(', '.join(r['tags'][:6]))}\n"
              f"    {one_line(r['source'])}")
        if r.get("start_s") is not None:
            shown = r["moment_text"] or "(the picture and sound there)"
            print(f"    @ {_clock(r['start_s'])}  {one_line(shown)[:70]}")
    return 0


def _clock(seconds: float) -> str:
    """1:23, or 1:02:03 past an hour."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Needs no model and no vector store: an event is one SQLite insert."""
    from shortlist.recommend.events import EventLog

    kind = "liked" if args.liked else "skipped" if args.skipped else "watched"
    if not all(c in "0123456789abcdef" for c in args.video_id) or len(args.video_id) != 16:
        raise ValueError(f"not a video id: {args.video_id!r} (16 hex digits, see "
                         "`shortlist list`)")
    event = EventLog(settings.events_path).record(args.user, args.video_id, kind, args.seconds)
    print(f"{event.user_id} {event.kind} {event.video_id}"
          + (f" ({event.seconds:g} s)" if event.seconds is not None else ""))
    return 0


def cmd_recommend(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.runtime import components_for

    comps = components_for(settings)
    store = comps.store()
    _open_in_background(store)
    from shortlist.recommend.events import EventLog
    from shortlist.recommend.recommend import recommend

    # The embedder loads its weights only if a --prefer query needs them.
    records = _records(recommend(store, EventLog(settings.events_path), args.user,
                                 limit=args.limit, prefer=args.prefer,
                                 embedder=comps.embedder()), comps)
    return _print_results(records, args.json, "nothing to recommend: the catalogue is empty "
                          "or the user has watched everything")


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.recommend.similar import similar
    from shortlist.runtime import components_for

    comps = components_for(settings)
    records = _records(similar(comps.store(), args.video_id, limit=args.limit, at_s=args.at),
                       comps)
    return _print_results(records, args.json, "no similar videos yet")


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.evaluate import evaluate, format_table
    from shortlist.runtime import components_for

    comps = components_for(settings)
    report = evaluate(Path(args.corpus), comps.store(), comps.embedder(),
                      video_embedder=comps.video_embedder())
    print(json.dumps(report, indent=1) if args.json else format_table(report))
    return 0


def cmd_s3_bridge(args: argparse.Namespace, settings: Settings) -> int:
    from deployments.s3_bridge import run

    print(f"forwarding S3 notifications from {args.queue} to Prefect (Ctrl-C stops)",
          flush=True)
    run(args.queue)
    return 0


def _prefect_for_this_process(settings: Settings) -> None:
    """Prefect reads these at import: keep task results (the cross-run cache) in the data
    dir, and keep its logs off the terminal."""
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(settings.results_dir))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not os.environ.get("PREFECT_API_URL"):
        # The ephemeral server lives as long as this command: runs, task runs, artifacts and
        # logs are recorded, but storing every event and evaluating automations on them
        # buys nothing here and costs ~5% of an ingest's wall time (2 cores).
        os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED", "false")
        os.environ.setdefault("PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED", "false")


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    _prefect_for_this_process(settings)
    from flows.ephemeral import start_tied_server

    server = start_tied_server()  # a killed reindex leaves no Prefect server behind
    from flows.reindex import reindex  # Prefect loads while its server starts

    server.wait_until_up()
    result = reindex(tracked=args.track)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "markdown"}, indent=2))
    else:
        print(result["markdown"])
    return 1 if result["failed"] else 0


def cmd_copy_store(args: argparse.Namespace, settings: Settings) -> int:
    from shortlist.runtime import components_for
    from shortlist.store.copy import copy_catalogue
    from shortlist.store.edge_store import EdgeStore
    from shortlist.store.qdrant_store import QdrantServerStore

    sizes = components_for(settings).store_sizes()  # the embedders' layout, on both sides
    source = EdgeStore(settings.qdrant_path, collection=settings.collection, sizes=sizes)
    target = QdrantServerStore(url=args.to_url, api_key=args.api_key,
                               collection=settings.collection, timeout_s=30, sizes=sizes)
    try:
        copied = copy_catalogue(source, target)
    finally:
        source.close()
        target.close()
    print(f"copied {copied} videos to {args.to_url}; set QDRANT_URL={args.to_url} to use them")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    _blas_threads_per_task(settings)
    import signal

    import uvicorn

    from shortlist.api import auth
    from shortlist.api.app import create_app
    from shortlist.runtime import components_for
    from shortlist.store import owner

    loopback = _is_loopback(args.host)
    if not loopback and not settings.api_key:
        raise ValueError(f"refusing to serve on {args.host} without an API key: anyone who "
                         "can reach it could write to the catalogue. Set SHORTLIST_API_KEY "
                         "(e.g. `export SHORTLIST_API_KEY=$(openssl rand -hex 24)`), or serve "
                         "on 127.0.0.1")
    # Take the store now and hold it for the server's life: fail fast if it is in use.
    components_for(settings).store(hold=True).count()

    def reindex_in_this_process(tracked: list[str] | None) -> dict:
        _prefect_for_this_process(settings)
        from flows.reindex import reindex

        return reindex(tracked=tracked)

    # This user's other processes use the store through this server with a token only they
    # can read; without a key it lets them write as well (see shortlist/api/auth.py).
    token = auth.make_token(settings.data_dir)
    app = create_app(settings, reindexer=reindex_in_this_process, admin_token=token,
                     allowed_hosts=_served_hosts(args.host))
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url_host = f"[{host}]" if ":" in host else host
    # Other processes find this one here and ask it (see shortlist/api/client.py).
    owner.claim(settings.data_dir, f"http://{url_host}:{args.port}", app.state.instance)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again; exit through
    # Python then, so that `finally` and atexit (Prefect's server, if a reindex started
    # one) run instead of the process dying on the spot.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"Shortlist on http://{args.host}:{args.port}/ (API docs at /docs)", flush=True)
    _collect_less_while_serving()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        owner.release(settings.data_dir, app.state.instance)
        auth.remove_token(settings.data_dir, token)
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _collect_less_while_serving() -> None:
    """A request's objects are freed by reference counting as it returns (600 searches and
    recommendations at 10k left fewer than 7000 for the collector), so Python's default
    passes, one per 700 new containers, only walked live data mid-request: a
    recommendation's vectors as lists (274 passes, 0.4 s in those 600 requests) and, in a
    full pass, the ~60k objects the server holds for its life (42 ms inside one request).
    Those are frozen out of the collector's sight, and passes come ten times less often."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


def _served_hosts(host: str) -> tuple[str, ...]:
    """Host header values to answer: the loopback names, and the address served on (or,
    on every interface, this machine's names); more by SHORTLIST_ALLOWED_HOSTS."""
    import socket

    from shortlist.api.app import LOOPBACK_HOSTS

    if host in ("0.0.0.0", "::"):
        extra = {socket.gethostname(), socket.getfqdn()}
    else:
        extra = {host, f"[{host}]"} if ":" in host else {host}
    return (*LOOPBACK_HOSTS, *sorted(extra))


if __name__ == "__main__":
    sys.exit(main())
