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


def test_reindex_redoes_only_invalidated_stages_while_search_keeps_answering(
        media, tmp_path, monkeypatch):
    import shutil
    import threading

    from prefect import get_client
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.ingest import ingest
    from flows.reindex import reindex
    from shortlist.recommend.search import search
    from shortlist.runtime import components_for
    from shortlist.settings import Settings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for key in ("speech", "caption"):
        shutil.copy(media[key], inbox / media[key].name)
    monkeypatch.setenv("SHORTLIST_DATA_DIR", str(tmp_path / "data"))
    with prefect_test_harness(), \
            temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path / "results"}):
        first = ingest([str(inbox)])
        ids = {r.source.rsplit("/", 1)[-1]: r.video_id for r in first.ingested}
        (inbox / media["caption"].name).unlink()  # gone from the tracked folder
        monkeypatch.setenv("SHORTLIST_OCR_FRAMES", "3")  # invalidates OCR and what reads it

        comps = components_for(Settings.load())
        answers: list[list[str]] = []
        errors: list[BaseException] = []
        stop = threading.Event()

        def searcher() -> None:
            while not stop.is_set():
                try:
                    answers.append([h.video_id for h in search(
                        comps.store(), comps.embedder(), "telescopes and galaxies", limit=3)])
                except BaseException as exc:  # noqa: BLE001 - asserted below
                    errors.append(exc)

        thread = threading.Thread(target=searcher)
        thread.start()
        try:
            result = reindex(tracked=[str(inbox)])
        finally:
            stop.set()
            thread.join()

        with get_client(sync_client=True) as client:
            last_state: dict[str, str] = {}
            for run in sorted(client.read_task_runs(), key=lambda r: r.expected_start_time):
                last_state[run.name.rsplit("-", 1)[0]] = run.state.name
            artifacts = {a.key for a in client.read_artifacts() if a.key}

    speech_id = ids["speech clip.mp4"]
    assert result["redone"] == [speech_id] and not result["failed"]
    assert list(result["dropped"]) == [ids["caption.mp4"]]
    assert last_state["transcode"] == last_state["listen"] == last_state["look"] == "Cached"
    assert last_state["read-text"] == last_state["describe"] == "Completed"
    assert not errors and len(answers) > 3
    assert all(a and a[0] == speech_id for a in answers)
    store = comps.store()
    assert store.physical_collection() == result["new_collection"]
    assert [p["video_id"] for p in store.scroll()] == [speech_id]
    assert ":3f:" in store.get(speech_id)["models"]["ocr"]
    assert {"reindex-summary", "reindex-videos"} <= artifacts
