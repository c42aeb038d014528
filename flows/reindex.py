"""The reindex flow (nightly): redo what changed stage versions invalidated, drop videos
whose tracked source vanished, and switch the new index in atomically.

When `shortlist serve` owns the embedded store, the flow asks it to run the reindex in
its own process (so search keeps answering) and reports what it did.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.ingest import ingest_video
from shortlist.api.client import serving_client
from shortlist.errors import ShortlistError
from shortlist.reindex import TrackedSources, plan_reindex, rebuild
from shortlist.runlog import append_rows
from shortlist.runtime import components_for
from shortlist.settings import Settings
from shortlist.sources import local_copy


@flow(name="reindex", task_runner=ThreadPoolTaskRunner(max_workers=2))
def reindex(tracked: list[str] | None = None, profile: str | None = None) -> dict:
    """`tracked`: folders and s3:// prefixes to check for vanished sources (default: the
    tracked_sources setting)."""
    settings = Settings.load(profile=profile)
    logger = get_run_logger()
    locations = list(settings.tracked_sources) if tracked is None else tracked
    server = serving_client(settings, timeout_s=3600)
    if server is not None:
        logger.info("the store is served by %s: reindexing there", server.base_url)
        result = server.reindex(locations)
    else:
        result = reindex_here(settings, locations)
    create_table_artifact(key="reindex-videos", table=result["rows"] or [{}],
                          description="per video: kept, redone, dropped or failed, and why")
    create_markdown_artifact(key="reindex-summary", markdown=result["markdown"],
                             description="what the reindex changed")
    logger.info(result["markdown"])
    return result


def reindex_here(settings: Settings, locations: list[str]) -> dict:
    """Plan, rebuild beside the live collection, switch. Stale videos go through the
    ingest stages, whose caches recompute only the stages whose versions changed."""
    comps = components_for(settings)
    store = comps.store()
    plan = plan_reindex(store.scroll(), comps.stage_versions(), TrackedSources(locations))

    def redo(sources: dict[str, str], target: str) -> dict[str, str]:
        failures: dict[str, str] = {}
        futures = {}
        for video_id, source in sources.items():
            try:
                video = local_copy(source, settings.downloads_dir)
            except (ShortlistError, OSError) as exc:
                failures[video_id] = str(exc)
                continue
            futures[video_id] = ingest_video.submit(video, settings, collection=target)
        for video_id, future in futures.items():
            report = future.result()
            if report.status != "ok":
                failures[video_id] = report.error
        return failures

    report = rebuild(store, plan, redo)
    append_rows(settings.data_dir / "reindex-runs.csv", report.rows())
    return {**report.as_dict(), "markdown": report.markdown()}
