"""The Prefect flow itself: cross-run caching per stage, and the artifacts a run leaves."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_model_change_recomputes_only_dependent_stages(media, tmp_path, monkeypatch):
    from prefect import get_client
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest

    monkeypatch.setenv("SHORTLIST_DATA_DIR", str(tmp_path / "data"))
    with prefect_test_harness(), \
            temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "results"}):
        first = ingest([str(media["speech"]), str(media["text"])])
        assert [r.status for r in first.reports] == ["ok", "failed"]
        assert "not a readable media file" in first.failed[0].error
        monkeypatch.setenv("SHORTLIST_OCR_FRAMES", "3")  # an OCR configuration change
        second = ingest([str(media["speech"])])
        assert second.ingested[0].video_id == first.ingested[0].video_id
        # Another data dir, same result store: cached records name the first dir's files,
        # so they must not be reused.
        monkeypatch.setenv("SHORTLIST_DATA_DIR", str(tmp_path / "other-data"))
        third = ingest([str(media["speech"])])
        assert [r.status for r in third.reports] == ["ok"], third.reports

        with get_client(sync_client=True) as client:
            runs = client.read_task_runs()
            states: dict[str, list[str]] = {}
            for run in sorted(runs, key=lambda r: r.expected_start_time):
                states.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name)
            artifacts = {a.key for a in client.read_artifacts() if a.key}
            kinds = {a.type for a in client.read_artifacts()}

    assert states["transcode"] == ["Completed", "Cached", "Completed"]
    assert states["listen"] == ["Completed", "Cached", "Completed"]
    assert states["look"] == ["Completed", "Cached", "Completed"]
    assert states["read-text"][:2] == ["Completed", "Completed"]  # its configuration changed
    assert states["describe"][:2] == ["Completed", "Completed"]  # it reads the OCR output
    assert {"ingest-summary", "ingest-videos"} <= artifacts
    assert "progress" in kinds
    log = (tmp_path / "data" / "runs.csv").read_text()
    assert log.count("speech clip.mp4") == 2 and "notes.mp4" in log
