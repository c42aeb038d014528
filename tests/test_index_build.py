"""The embedded engine's index is built by a child process where a server would otherwise
stop answering (Edge's optimize() holds Python's global lock): a serving store indexes a
copy of its live shard while it goes on searching and writing, and a reindex's new build
is indexed the same way."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import pytest

from shortlist.errors import StoreUnavailable
from shortlist.store import edge_store, index_build
from shortlist.store.edge_store import EdgeStore
from shortlist.store.records import TEXT
from tests.points import make_point

GATE = """import os, runpy, sys, time
gate, record = sys.argv.pop(1), sys.argv.pop(1)
open(record, "a").write(f"{os.getpid()}\\n")
deadline = time.time() + 60
while not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.02)
runpy.run_module("shortlist.store.index_build", run_name="__main__")
"""


@pytest.fixture
def gated_builder(tmp_path, monkeypatch):
    """The real builder, started only once the test opens the gate; it writes down the pid
    of each child it runs."""
    script, gate, record = tmp_path / "gate.py", tmp_path / "open", tmp_path / "pids"
    script.write_text(GATE)
    monkeypatch.setattr(index_build, "BUILDER", [sys.executable, str(script), str(gate),
                                                 str(record)])
    monkeypatch.setattr(edge_store, "OPTIMIZE_AFTER", 40)
    return gate, record


def _points(n: int, start: int = 0):
    return [make_point(i, f"video {i}", Path("/nonexistent"), with_file=False)
            for i in range(start, start + n)]


def _shards(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "shards").iterdir())


def test_a_serving_store_indexes_a_copy_while_it_searches_and_writes(tmp_path, gated_builder):
    gate, record = gated_builder
    store = EdgeStore(tmp_path / "q", hold=True)
    first, later = _points(60), _points(10, start=60)
    try:
        store.upsert(first)  # past the threshold: the copy is made, its child waits at the gate
        live = store.physical_collection()
        assert store.index_build_running() and store.unindexed_videos() == 60
        # Meanwhile the live shard answers and takes writes, which the copy does not have.
        assert store.nearest(first[5].dense[TEXT], TEXT, 3)[0] == first[5].video_id
        store.upsert(later)
        store.delete([first[0].video_id])
        assert store.count() == 69
        gate.touch()
        store.optimize()  # waits for the build under way
        assert not store.index_build_running()
        assert store.physical_collection() != live and _shards(tmp_path / "q") == [
            store.physical_collection()]
        assert store.unindexed_videos() <= 10  # the 59 copied are indexed; the rest replayed
        assert store.count() == 69 and store.get(first[0].video_id) is None
        assert store.nearest(later[3].dense[TEXT], TEXT, 3)[0] == later[3].video_id
        pids = [int(p) for p in record.read_text().split()]
        assert pids and os.getpid() not in pids
    finally:
        store.close()
    reopened = EdgeStore(tmp_path / "q")
    try:
        assert reopened.count() == 69 and reopened.get(later[9].video_id)
    finally:
        reopened.close()


def test_a_failed_build_leaves_the_live_shard_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(index_build, "BUILDER",
                        [sys.executable, "-c", "import sys; sys.exit('no space left on device')"])
    monkeypatch.setattr(edge_store, "OPTIMIZE_AFTER", 40)
    store = EdgeStore(tmp_path / "q", hold=True)
    try:
        store.upsert(_points(50))
        live = store.physical_collection()
        with pytest.raises(StoreUnavailable, match="no space left on device"):
            store.optimize()
        store.upsert(_points(5, start=50))  # writes go on, and do not try again at once
        assert not store.index_build_running()
        assert store.physical_collection() == live and _shards(tmp_path / "q") == [live]
        assert store.count() == 55
    finally:
        store.close()


def test_a_store_closed_mid_build_keeps_its_live_shard_and_leaves_no_copy(tmp_path,
                                                                         gated_builder):
    store = EdgeStore(tmp_path / "q", hold=True)
    store.upsert(_points(45))
    live = store.physical_collection()
    assert store.index_build_running()
    store.close()  # the gate is never opened: the child is stopped
    assert _shards(tmp_path / "q") == [live]
    reopened = EdgeStore(tmp_path / "q")
    try:
        assert reopened.count() == 45
    finally:
        reopened.close()


def test_a_rebuild_goes_live_indexed_by_a_child_process(tmp_path, gated_builder):
    gate, record = gated_builder
    gate.touch()
    store = EdgeStore(tmp_path / "q")
    points = _points(30)
    try:
        store.upsert(points)  # under the threshold: nothing built yet
        assert store.unindexed_videos() == 30 and not record.exists()
        target = store.begin_rebuild()
        store.copy_into(target, [p.video_id for p in points])
        store.switch_to(target)
        assert store.physical_collection() == target
        assert store.unindexed_videos() == 0 and store.count() == 30
        assert os.getpid() not in [int(p) for p in record.read_text().split()]
    finally:
        store.close()


SERVER = """import sys, time
from pathlib import Path
from shortlist.store import edge_store, index_build
from shortlist.store.edge_store import EdgeStore
from tests.points import make_point
edge_store.OPTIMIZE_AFTER = 40
index_build.BUILDER = sys.argv[2:]
store = EdgeStore(Path(sys.argv[1]), hold=True)
store.upsert([make_point(i, f"video {i}", Path("/nonexistent"), with_file=False)
              for i in range(60)])
print(store.physical_collection(), flush=True)
time.sleep(120)
"""


def test_a_server_killed_mid_build_leaves_its_catalogue_and_the_next_removes_the_copy(
        tmp_path, gated_builder):
    import signal
    import subprocess

    from tests.conftest import ROOT

    _, record = gated_builder
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path / "q"),
                               *index_build.BUILDER], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        live = server.stdout.readline().strip()
        assert live and len(_shards(tmp_path / "q")) == 3  # live, its copy, the copy's mark
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:  # the child has started
            time.sleep(0.02)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
        for pid in record.read_text().split():  # the child waiting at the gate
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    store = EdgeStore(tmp_path / "q", hold=True)
    try:
        assert store.count() == 60 and store.physical_collection() == live
        assert _shards(tmp_path / "q") == [live]
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("hold", [False, True], ids=["not serving", "serving"])
def test_builds_index_new_videos_beside_the_big_segment_until_they_outgrow_a_share_of_it(
        tmp_path, monkeypatch, hold):
    """A build indexes what was written since the last whole build beside the big segment
    (a segment cap the engine obeys), so it costs those videos, not the catalogue; once
    they pass WHOLE_AGAIN_AFTER of it, a build is whole again."""
    from qdrant_edge import EdgeShard

    monkeypatch.setattr(edge_store, "OPTIMIZE_AFTER", 40)
    root = tmp_path / "q"
    shapes = []
    for start in range(0, 240, 40):
        store = EdgeStore(root, hold=hold)
        try:
            store.upsert(_points(40, start))
            deadline = time.monotonic() + 60
            while store.index_build_running() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.unindexed_videos() == 0 and store.count() == start + 40
            assert store.nearest(_points(1, start)[0].dense[TEXT], TEXT, 1) == [
                _points(1, start)[0].video_id]
            shard_dir = root / "shards" / store.physical_collection()
        finally:
            store.close()
        shard = EdgeShard.load(str(shard_dir))
        segments = shard.info().segments_count
        shard.close()
        shapes.append((index_build.whole_build_videos(shard_dir), segments))
    whole = [w for w, _ in shapes]
    one = shapes[0][1]  # the big segment, and the engine's empty one that takes writes
    # 40 and 80 videos: whole builds (none before; then 40 new > 0.6 x 40). 120: 40 new
    # <= 0.6 x 80, a second segment. 160: 80 new > 48, whole. 200: a second segment again;
    # 240: the newer 80 in that second segment, not a third one.
    assert whole == [40, 80, 80, 160, 160, 160]
    assert [s for _, s in shapes] == [one, one, one + 1, one, one + 1, one + 1]


def test_the_segment_cap_lies_between_the_newer_videos_and_the_big_segment():
    assert index_build.segment_cap_kb(1000, None, 1536.0) is None  # no whole build known
    assert index_build.segment_cap_kb(1700, 1000, 1536.0) is None  # 700 new > 0.6 x 1000
    cap = index_build.segment_cap_kb(1600, 1000, 1536.0)
    assert 600 * 1.5 < cap < 1000 * 1.5  # KB: above the 600 newer videos, below the big
