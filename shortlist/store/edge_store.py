"""The embedded store: Qdrant's own engine in-process (Qdrant Edge), under one folder.

Layout of `path` ($SHORTLIST_DATA_DIR/qdrant):
    shards/<name>/   one Edge shard per build of the catalogue (segments, HNSW)
    videos.json      names the shard searches use (one file per collection name);
                     replaced by a rename, so a reindex switches atomically and a
                     half-built shard is never live

An Edge shard admits one process at a time (its files are locked). Opening one costs about
0.1 s at 10k videos, so a store keeps its shard open while operations follow each other,
and closes it once `linger_s` passes without one: an ingest that writes a video every few
seconds leaves the shard free for a `shortlist search` in between. A process that finds it
busy waits up to `wait_s`. `shortlist serve` holds it, and the others then reach the
catalogue through serve (shortlist/api/served_store.py).

The engine builds its HNSW index while holding Python's global lock, so builds run in a
child process (store/index_build.py), which indexes new videos beside the big segment
rather than into it. A process that serves (`hold`) has a copy of the live shard indexed
while it answers and writes, replays onto the copy the writes made meanwhile, and makes
the copy live by the same pointer rename a reindex uses; one that does not serve closes
its shard (keeping the folder) while the child builds it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shortlist.errors import StoreUnavailable
from shortlist.store.ids import point_id_for
from shortlist.store.index_build import (
    IndexBuildFailed,
    build_in_child,
    finish_build,
    note_whole_build,
    segment_cap_kb,
    start_build,
    whole_build_due,
    whole_build_videos,
)
from shortlist.store.records import (
    DIMENSIONS,
    INDEXED_FIELDS,
    KEYWORDS,
    MULTIVECTOR_SPACES,
    RRF_K,
    TEXT_SPACES,
    Hit,
    RankRequest,
    SearchFilters,
    VideoPoint,
    by_best_part,
    check_point,
    dense_only,
    fill_page,
    fit,
    fits_layout,
    flat,
    fuse_search,
    liked_spaces,
    page_of,
    searchable,
    with_moments,
)

# Edge 0.9.0 matches no boolean payload value (its MatchValue(True) compares as the integer
# 1), so the engine filters `has_speech` on a keyword copy kept beside it, never returned.
SPEECH_KEY = "_has_speech"
# Videos not yet in the engine's index before a write asks it to build it: at least
# OPTIMIZE_AFTER, and BUILD_SHARE of the catalogue. A build indexes them beside the big
# segment, not into it (store/index_build.py), so it costs what was written since the last
# whole build, and the tail that every query scans stays a sixteenth of the catalogue (it
# was up to a quarter while every build cost all of it). The share keeps the builds of a
# growing catalogue at 1.2-1.5 times the work of the quarter rule's at 100k-1M videos
# (counted in videos indexed, bench/build_schedule.py; a fixed 5,000 cost 1.4x at 100k and
# 6.6x at 1M). Counted by the engine, so that many small ingests, each its own process,
# add up: counted per process, a catalogue grown 100 videos a day was scanned exactly
# until someone ran `shortlist reindex`.
OPTIMIZE_AFTER = 5000
BUILD_SHARE = 1 / 16
# Videos read to estimate a video's size in the engine's terms (see _segment_cap).
SIZE_SAMPLE = 256
# Dense search is exact up to this many videos. Beyond it HNSW with HNSW_EF candidates,
# scored on the int8 copy of the vectors that every shard keeps in memory (Qdrant's scalar
# quantization, QUANTILE), the best OVERSAMPLING times as many as asked for scored again on
# the full vectors. At 10k embedding-like videos (a 32-d latent per video in every space,
# plus noise), against exact search: a recommendation's candidates (best-score over 10
# liked and 5 skipped videos in four spaces) 22.5 -> 9.4 ms with 0.997 of the same top 80,
# three 384-d rankings 7.8 -> 3.5 ms with the same top 10 (HNSW alone: 17.5 and 5.8 ms).
# At 100k, ef 128 found 0.984 of the exact top 10, 256 0.999, 512 1.0. On random vectors,
# HNSW's worst case, no ef finds much (0.45 at 512 at 100k): see bench/store_bench.py.
EXACT_UP_TO = 5_000
HNSW_EF = 256
# A best-score query over many liked videos. A wider walk finds more of its exact top 40 (on
# 8k embedding-like vectors ef 256 found 36 for 10 liked videos, 512 found 39-40), but not
# more of what the interest scoring then picks: recommendations' recall@10 at 10k was the
# same from ef 64 to 1024 (0.43-0.445, bench/recommend_recall_bench.py), and 128 was faster
# than 512 in each of four runs (p50 38.1 ms against 43.6 in bench/results/).
RECOMMEND_EF = 128
QUANTILE = 0.99  # int8 range: the 0.99 quantile of each space's values (outliers clipped)
OVERSAMPLING = 2.0
# How long `serve` waits at start for its catalogue to be read into memory (see
# read_into_page_cache): 1.1 s for 100k videos from a cold disk; a slower disk or a bigger
# catalogue goes on reading while the server answers.
WARM_WAIT_S = 10.0
# Point ids whose video ids a store remembers (about 150 bytes each) before it starts over.
MAX_REMEMBERED_IDS = 500_000
# After an index build in a child process failed, a process waits this long before it
# tries again (a serving one copies the shard for each try), searching the unindexed
# videos exactly meanwhile.
BUILD_RETRY_S = 600.0

log = logging.getLogger(__name__)


@dataclass
class _IndexBuild:
    """The live shard's index, being built on a copy by a child process."""

    source: str  # the live shard when it was copied
    target: str  # the copy
    child: subprocess.Popen
    touched: set[str] = field(default_factory=set)  # videos written or deleted since the copy
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""
    stopped: bool = False  # by close(): not a failure


def dense_search_params(videos: int, ef: int = HNSW_EF):
    """How a dense ranking searches a catalogue of `videos` (see EXACT_UP_TO). A shard made
    without the int8 copy (before it was kept) is searched on its full vectors."""
    from qdrant_edge import QuantizationSearchParams, SearchParams

    if videos <= EXACT_UP_TO:
        return SearchParams(exact=True)
    return SearchParams(hnsw_ef=ef, quantization=QuantizationSearchParams(
        rescore=True, oversampling=OVERSAMPLING))


class EdgeStore:
    def __init__(self, path: Path, collection: str = "videos", hold: bool = False,
                 wait_s: float = 30.0, linger_s: float = 0.5,
                 sizes: dict[str, int] | None = None) -> None:
        self.path = Path(path)
        self.sizes = dict(sizes or DIMENSIONS)  # each space's size (records.dimensions)
        self._layout = dict(self.sizes)  # the live shard's spaces (an older one lacks some)
        self.collection = collection
        self.hold = hold
        self.wait_s = wait_s
        self.linger_s = linger_s
        self._closer: threading.Timer | None = None
        self._shard = None  # the live shard while open
        self._shard_name: str | None = None
        self._users = 0  # operations using the open shard now (nested calls share it)
        self._targets: dict[str, Any] = {}  # rebuilds in progress: name -> open shard
        self._retired: list[tuple[Any, Path]] = []  # replaced shards still in use here
        self._size: int | None = None  # points in the live shard, when last counted here
        # Point id -> video id, learnt from payloads read (see _video_ids_of).
        self._video_id_of: dict[int, str] = {}
        self._folder_lock = None  # the open lock file while this process has the shard
        self._building: _IndexBuild | None = None  # see _build_index_beside
        self._build_failed_at = -BUILD_RETRY_S
        self._lock = threading.RLock()  # taken before _write_lock where both are held
        self._idle = threading.Condition(self._lock)  # notified when _users drops to 0
        self._write_lock = threading.Lock()

    # Opening and closing -------------------------------------------------------------

    @contextlib.contextmanager
    def _live(self) -> Iterator[Any]:
        """The live shard for one operation: opened if need be, closed after unless held."""
        with self._lock:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
            if self._shard is None:
                self._take_folder()
                try:
                    self._shard_name = self._live_name()
                    directory = self._shard_dir(self._shard_name)
                    self._layout = _check_sizes(directory, self.sizes)
                    self._shard = self._open(directory)
                    self._size = None  # other processes may have written meanwhile
                    if self.hold:  # a server: read before it answers (serve opens first)
                        self._sweep_abandoned()  # copies left by a server killed mid-build
                        read_into_page_cache(directory, wait_s=WARM_WAIT_S)
                except BaseException:
                    self._release_folder()
                    raise
            self._users += 1
            shard = self._shard
        try:
            yield shard
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._idle.notify_all()
                    self._close_retired()
                    if not self.hold:
                        self._schedule_close()

    def _schedule_close(self) -> None:
        self._closer = threading.Timer(self.linger_s, self._close_if_idle)
        self._closer.daemon = True
        self._closer.start()

    def _close_retired(self) -> None:
        for shard, directory in self._retired:
            shard.close()
            shutil.rmtree(directory, ignore_errors=True)
        self._retired.clear()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._users == 0 and not self.hold:
                self._close_live()

    def _close_live(self) -> None:
        self._close_retired()
        if self._closer is not None:
            self._closer.cancel()
            self._closer = None
        if self._shard is not None:
            self._shard.close()
            self._shard = None
        self._release_folder()

    def _take_folder(self) -> None:
        """Our own lock over the folder, taken before Edge opens anything in it: a second
        process's open must not start at all while one has the shard (a failed Edge open
        still touches segment files, which corrupted a concurrent writer's flush)."""
        import fcntl

        if self._folder_lock is not None:  # kept while the shard was closed for a build
            return
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / ".shortlist.lock", "a")  # noqa: SIM115 - held while open
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._folder_lock = handle
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise StoreUnavailable(
                        f"the embedded store at {self.path} is in use by another Shortlist "
                        f"process (waited {self.wait_s:.0f} s). If `shortlist serve` runs, "
                        "commands reach the catalogue through it; otherwise wait for the "
                        "other command to finish, or set QDRANT_URL to share a Qdrant "
                        "server.") from None
                time.sleep(0.005)

    def _release_folder(self) -> None:
        if self._folder_lock is not None:
            self._folder_lock.close()  # closing the file releases the lock
            self._folder_lock = None

    def _live_name(self) -> str:
        """The live shard's name; creates an empty one (or migrates a local-mode folder)
        on first use."""
        pointer = self._pointer()
        try:
            return json.loads(pointer.read_text())["shard"]
        except FileNotFoundError:
            pass
        except (ValueError, KeyError) as exc:
            raise StoreUnavailable(f"{pointer} is damaged ({exc}); it should name the live "
                                   f"shard under {self.path / 'shards'}") from exc
        from shortlist.store.migrate import has_local_mode_catalogue, migrate_local_mode

        self.path.mkdir(parents=True, exist_ok=True)
        name = self._new_shard()
        if has_local_mode_catalogue(self.path):
            target = self._open(self._shard_dir(name))
            try:
                migrate_local_mode(self.path, self.collection,
                                   lambda points: self._write(target, points))
                target.optimize()
                note_whole_build(self._shard_dir(name), target.info().points_count)
            finally:
                target.close()
        self._point_at(name)
        return name

    def _new_shard(self) -> str:
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeOptimizersConfig,
            EdgeShard,
            EdgeSparseVectorParams,
            EdgeVectorParams,
            Memory,
            Modifier,
            MultiVectorComparator,
            MultiVectorConfig,
            ScalarQuantizationConfig,
            ScalarType,
            UpdateOperation,
        )

        name = _fresh_name()
        best_of = MultiVectorConfig(MultiVectorComparator.MaxSim)
        config = EdgeConfig(
            # Vectors memory-mapped, not read in at open (the default, Cached): the engine
            # opened serving_bench's 10k catalogue in 0.155 s instead of 0.22 s (median of 5),
            # and in-process searches took the same time once the OS had the pages (p50
            # 5.1-6.3 ms against 5.4-6.0). A catalogue made before keeps Cached until a rebuild.
            vectors={vec: EdgeVectorParams(size=dim, distance=Distance.Cosine,
                                           memory=Memory.Cold,
                                           multivector_config=best_of
                                           if vec in MULTIVECTOR_SPACES else None)
                     for vec, dim in self.sizes.items()},
            sparse_vectors={KEYWORDS: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            # An int8 copy of every dense vector, in memory: searches beyond EXACT_UP_TO walk
            # HNSW on it (a quarter of the floats' size: 10k videos' flat spaces are 19 MB).
            quantization_config=ScalarQuantizationConfig(ScalarType.Int8, quantile=QUANTILE,
                                                         always_ram=True),
            # No write-ahead log: every write here is flushed before it returns (_write),
            # which is all the durability the log gave, and the engine read back its
            # retained log at every open: a 10k catalogue opened in 0.09 s instead of 0.18
            # (median of 3 each), most of a cold `shortlist search` or `recommend` beyond its
            # imports. A catalogue made with a log keeps it (fixed at creation).
            wal_enabled=False,
            # optimize() indexes whatever it finds unindexed; when to call it is decided
            # here (OPTIMIZE_AFTER). By default the engine ignores a call until a segment
            # holds enough of a space's vectors (384-d: not at 6,000 points, at 7,000).
            optimizers=EdgeOptimizersConfig(indexing_threshold=1))
        shard = EdgeShard.create(str(self._shard_dir(name)), config)
        try:
            for field_name, kind in {**INDEXED_FIELDS, SPEECH_KEY: "keyword"}.items():
                if kind != "bool":
                    shard.update(UpdateOperation.create_field_index(field_name, _schema(kind)))
            shard.flush()
        finally:
            shard.close()
        return name

    def _open(self, directory: Path):
        from qdrant_edge import EdgeShard

        try:
            return EdgeShard.load(str(directory))
        except Exception as exc:
            raise StoreUnavailable(f"cannot open the catalogue at {directory}: {exc}") from exc

    def _shard_dir(self, name: str) -> Path:
        return self.path / "shards" / name

    def _pointer(self) -> Path:
        return self.path / f"{self.collection}.json"

    def _point_at(self, name: str) -> None:
        pointer = self._pointer()
        partial = pointer.with_suffix(".partial")
        partial.write_text(json.dumps({"shard": name}))
        os.replace(partial, pointer)  # atomic: readers see the old name or the new one

    def physical_collection(self) -> str:
        """The shard searches use now."""
        with self._live():
            return self._shard_name or ""

    def close(self) -> None:
        build = self._building
        if build is not None:  # a server stopping: its copy is not finished, nor needed
            build.stopped = True
            build.child.terminate()
            build.done.wait()
        with self._lock:
            self._close_live()
            for shard in self._targets.values():
                shard.close()
            self._targets.clear()

    # Writes --------------------------------------------------------------------------

    def upsert(self, points: Sequence[VideoPoint], collection: str | None = None) -> None:
        """Write points to the live shard, or to a rebuild target (see begin_rebuild)."""
        for p in points:
            check_point(p, self.sizes)
        if collection is not None:
            self._write(self._targets[collection], points)
            return
        with self._live() as shard:
            self._write(shard, [replace(p, dense=fit(p.dense, self._layout)) for p in points],
                        live=True)
            self._size = None
            behind = (self._building is None
                      and time.monotonic() - self._build_failed_at >= BUILD_RETRY_S
                      and self._index_is_behind(shard))
            if behind and self.hold:
                self._build_index_beside()
        if behind and not self.hold:
            try:  # once this write's use of the shard has ended: the build closes it
                self.optimize()
            except IndexBuildFailed as exc:  # the write stands; the next build tries again
                self._build_failed_at = time.monotonic()
                log.warning("%s; videos outside the index are searched exactly until it is "
                            "built", exc)

    def _write(self, shard, points: Sequence[VideoPoint], live: bool = False) -> None:
        """Upsert and flush: once this returns the points survive a kill of the process.
        `live`: the live shard, whichever it is once the write may go ahead (an index
        built beside may have gone live meanwhile), noted for that build's replay."""
        from qdrant_edge import Point, SparseVector, UpdateOperation

        structs = []
        for p in points:
            vector: dict[str, Any] = dict(p.dense)
            if p.sparse:
                idx = sorted(p.sparse)
                vector[KEYWORDS] = SparseVector(idx, [float(p.sparse[i]) for i in idx])
            payload = {**p.payload, SPEECH_KEY: str(bool(p.payload.get("has_speech"))).lower()}
            structs.append(Point(id=_uuid(p.video_id), vector=vector, payload=payload))
        if not structs:
            return
        with self._write_lock:
            if live:
                shard = self._shard
                self._note_touched(p.video_id for p in points)
            shard.update(UpdateOperation.upsert_points(structs))
            shard.flush()

    def delete(self, video_ids: Sequence[str]) -> None:
        from qdrant_edge import UpdateOperation

        with self._live(), self._write_lock:
            self._note_touched(video_ids)
            self._shard.update(UpdateOperation.delete_points([_uuid(v) for v in video_ids]))
            self._shard.flush()
            self._size = None

    def _note_touched(self, video_ids) -> None:
        """A write to the live shard while its copy is indexed: replayed onto the copy."""
        if self._building is not None:
            self._building.touched.update(video_ids)

    def optimize(self) -> None:
        """Build HNSW over what was written (blocking): until then new points are searched
        exactly, which costs more as they grow. The build runs in a child process, on the
        closed shard here (this process keeps the folder), or, in a serving process, on a
        copy (_build_index_beside). Not to be called while this thread uses the shard."""
        if not self.hold:
            with self._lock:
                self._idle.wait_for(lambda: self._users == 0)
                with self._live() as shard:
                    cap = self._segment_cap(shard)
                directory = self._shard_dir(self._shard_name or "")
                self._shard.close()  # the folder stays ours: no other process opens it
                self._shard = None
                build_in_child(directory, cap)
            return
        with self._live():
            build = self._building or self._build_index_beside()
        build.done.wait()
        if build.error:
            raise StoreUnavailable(build.error)

    def index_build_running(self) -> bool:
        """Whether a copy of the live shard is being indexed (a serving process only)."""
        return self._building is not None

    def _build_index_beside(self) -> _IndexBuild:
        """Copy the live shard (flushed, writes held for the copy: 0.2 s at 8k videos) and
        have a child process index the copy; _finish_index_build makes it live. Searches
        and writes go on meanwhile, on the live shard, searched as it was."""
        with self._write_lock:
            if self._building is not None:
                return self._building
            self._sweep_abandoned()
            source, target = self._shard_name or "", _fresh_name()
            cap = self._segment_cap(self._shard)
            self._shard.flush()
            shutil.copytree(self._shard_dir(source), self._shard_dir(target))
            self._builder_mark(target).write_text(str(os.getpid()))
            build = _IndexBuild(source, target, start_build(self._shard_dir(target), cap))
            self._building = build
        threading.Thread(target=self._finish_index_build, args=(build,), daemon=True,
                         name="index-build").start()
        return build

    def _finish_index_build(self, build: _IndexBuild) -> None:
        """Wait for the child; replay onto the copy what was written meanwhile and make it
        live. A failed build, a closed store or a reindex that went live meanwhile leave
        the live shard as it is and drop the copy."""
        built = None
        try:
            finish_build(build.child)
            # Read the new files in before the switch, not after: at 100k videos the first
            # searches on them otherwise wait for the disk (p99 0.9 s in bench/store_bench.py).
            read_into_page_cache(self._shard_dir(build.target), wait_s=WARM_WAIT_S)
            built = self._open(self._shard_dir(build.target))
            with self._write_lock:  # most writes since the copy, while searches go on
                if self._shard_name == build.source and self._shard is not None:
                    self._replay(build, built)
            with self._lock, self._write_lock:  # the few since, and the switch
                if self._shard is None or self._shard_name != build.source:
                    raise IndexBuildFailed("the catalogue changed while its index was built")
                self._replay(build, built)
                self._point_at(build.target)
                self._builder_mark(build.target).unlink(missing_ok=True)
                self._retired.append((self._shard, self._shard_dir(build.source)))
                self._shard, self._shard_name, built = built, build.target, None
                self._size = None
                self._building = None
                if self._users == 0:
                    self._close_retired()
        except Exception as exc:
            build.error = str(exc)
            if built is not None:
                built.close()
            self.abandon_rebuild(build.target)  # the copy and its mark
            if not build.stopped:
                self._build_failed_at = time.monotonic()
                log.warning("%s; videos outside the index are searched exactly until it is "
                            "built", exc)
        finally:
            with self._write_lock:
                if self._building is build:
                    self._building = None
            build.done.set()

    def _replay(self, build: _IndexBuild, built) -> None:
        """Each video written or deleted since the copy (or the last replay), as the live
        shard has it now. The caller holds the write lock."""
        from qdrant_edge import Point, UpdateOperation

        ids = [_uuid(v) for v in sorted(build.touched)]
        build.touched.clear()
        for start in range(0, len(ids), 256):
            chunk = ids[start:start + 256]
            found = self._shard.retrieve(chunk, with_payload=True, with_vector=True)
            if found:
                built.update(UpdateOperation.upsert_points(
                    [Point(id=r.id, vector=r.vector, payload=r.payload) for r in found]))
            kept = {r.id.int for r in found}
            gone = [u for u in chunk if u.int not in kept]
            if gone:
                built.update(UpdateOperation.delete_points(gone))
        built.flush()

    def unindexed_videos(self) -> int:
        """Videos whose dense vectors the engine scans exactly, outside its index: the
        vectors it holds (each space's, counted) less those it calls indexed, in which a
        keyword vector counts from the moment it is written."""
        from qdrant_edge import CountRequest, Filter, HasVectorCondition

        with self._live() as shard:
            info = shard.info()
            held = {space: shard.count(CountRequest(
                filter=Filter(must=[HasVectorCondition(space)]), exact=True))
                for space in [*self._layout, KEYWORDS]}
        dense = sum(held.values()) - held[KEYWORDS]
        unindexed = sum(held.values()) - info.indexed_vectors_count
        return round(unindexed * info.points_count / dense) if dense else 0

    def _index_is_behind(self, shard) -> bool:
        """Whether a write should build the index now (see OPTIMIZE_AFTER). The engine's
        summary gives a bound at no cost (as if each video had every space: one with no
        speech has fewer); the exact count (7 counts, 5 ms at 10k) only where it passes."""
        info = shard.info()
        enough = max(OPTIMIZE_AFTER, info.points_count * BUILD_SHARE)
        dense_indexed = max(0, info.indexed_vectors_count - info.points_count)
        if info.points_count - dense_indexed // len(self._layout) < enough:
            return False
        return self.unindexed_videos() >= enough

    def _segment_cap(self, shard) -> int | None:
        """The segment cap for the next build of the live shard (index_build.segment_cap_kb),
        which the engine compares with a segment's largest space in bytes: estimated from
        SIZE_SAMPLE videos, as a video's moments vary in number."""
        from qdrant_edge import ScrollRequest

        whole = whole_build_videos(self._shard_dir(self._shard_name or ""))
        videos = shard.info().points_count
        if whole_build_due(videos, whole):
            return None
        sample, _ = shard.scroll(ScrollRequest(limit=SIZE_SAMPLE, with_payload=False,
                                               with_vector=list(self._layout)))
        floats: dict[str, int] = {}
        for record in sample:
            for space, vector in dense_only(record.vector, list(self._layout)).items():
                rows = vector if vector and isinstance(vector[0], list) else [vector]
                floats[space] = floats.get(space, 0) + sum(len(r) for r in rows)
        per_video = 4 * max(floats.values(), default=0) / max(1, len(sample))
        return segment_cap_kb(videos, whole, per_video)

    # Rebuilds: a new shard beside the live one, switched in by renaming the pointer -----

    def begin_rebuild(self) -> str:
        with self._live():  # the live shard exists (or is migrated) before a rebuild
            pass
        self._sweep_abandoned()
        name = self._new_shard()
        self._builder_mark(name).write_text(str(os.getpid()))
        self._targets[name] = self._open(self._shard_dir(name))
        return name

    def _builder_mark(self, name: str) -> Path:
        """Beside a shard being built: the pid of the process building it."""
        return self.path / "shards" / f"{name}.building"

    def _sweep_abandoned(self) -> None:
        """Remove builds whose process is gone (a reindex killed mid-way left its new shard,
        a server killed while a child indexed its copy left the copy). A build still open
        in a running process is kept: only its builder may end it."""
        for mark in (self.path / "shards").glob("*.building"):
            try:
                pid = int(mark.read_text().strip())
                os.kill(pid, 0)
                continue  # its builder runs
            except ProcessLookupError:
                pass
            except (OSError, ValueError):
                continue  # unreadable, or another user's process: not ours to judge
            shutil.rmtree(self.path / "shards" / mark.name.removesuffix(".building"),
                          ignore_errors=True)
            mark.unlink(missing_ok=True)

    def copy_into(self, target: str, video_ids: Sequence[str], batch: int = 256) -> None:
        """Copy points as they are (vectors and payload) from the live shard."""
        from qdrant_edge import Point, UpdateOperation

        shard_to = self._targets[target]
        for start in range(0, len(video_ids), batch):
            ids = [_uuid(v) for v in video_ids[start:start + batch]]
            with self._live() as shard:
                found = shard.retrieve(ids, with_payload=True, with_vector=True)
            if found:  # a point from an older shard gains its moments space
                shard_to.update(UpdateOperation.upsert_points(
                    [Point(id=r.id, vector=with_moments(r.vector), payload=r.payload)
                     for r in found]))
        shard_to.flush()

    def switch_to(self, target: str) -> str:
        """Make `target` live (one rename), then remove the shard it replaced. The new build
        goes live indexed, built by a child process (store/index_build.py) while this one
        goes on answering from the live shard."""
        shard = self._targets.pop(target)
        shard.flush()
        shard.close()
        build_in_child(self._shard_dir(target))
        if self.hold:  # searches go on meanwhile, on the live shard
            read_into_page_cache(self._shard_dir(target), wait_s=WARM_WAIT_S)
        shard = self._open(self._shard_dir(target))
        with self._lock, self._write_lock:
            old = self._live_name()
            self._point_at(target)
            self._builder_mark(target).unlink(missing_ok=True)
            self._layout = dict(self.sizes)  # a rebuild is made with every space
            self._size = None
            if self._shard is None:  # not open here: the next operation opens the new one
                shard.close()
                shutil.rmtree(self._shard_dir(old), ignore_errors=True)
                return old
            # Operations running now finish on the old shard; it is closed and removed when
            # the last of them ends. The folder stays this process's: the new shard is live.
            self._retired.append((self._shard, self._shard_dir(old)))
            self._shard, self._shard_name = shard, target
            if self._users == 0:
                self._close_retired()
                if not self.hold:
                    self._schedule_close()
        return old

    def abandon_rebuild(self, target: str) -> None:
        """Drop a rebuild that failed; the live shard is untouched."""
        shard = self._targets.pop(target, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self._shard_dir(target), ignore_errors=True)
        self._builder_mark(target).unlink(missing_ok=True)

    # Reads ---------------------------------------------------------------------------

    def get(self, video_id: str, with_vectors: bool = False) -> dict[str, Any] | None:
        with self._live() as shard:
            found = shard.retrieve([_uuid(video_id)], with_payload=True,
                                   with_vector=with_vectors)
        if not found:
            return None
        record = _payload(found[0])
        if with_vectors:
            record["_vectors"] = dense_only(found[0].vector)
        return record

    def get_many(self, video_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not video_ids:
            return []
        with self._live() as shard:
            found = shard.retrieve([_uuid(v) for v in video_ids], with_payload=True,
                                   with_vector=False)
        return [_payload(r) for r in found]

    def durations(self, video_ids: Sequence[str]) -> dict[str, float]:
        """From the engine's index on `duration_s`: a scroll ordered by a field carries each
        point's value, and reads no payload (488 videos: 30 ms by payloads, 5.5 ms)."""
        from qdrant_edge import Filter, HasIdCondition, OrderBy, ScrollRequest

        asked = {_uuid(v).int: v for v in video_ids}
        if not asked:
            return {}
        with self._live() as shard:
            records, _ = shard.scroll(ScrollRequest(
                limit=len(asked), filter=Filter(must=[HasIdCondition(
                    {uuid.UUID(int=k) for k in asked})]), order_by=OrderBy("duration_s"),
                with_payload=False, with_vector=False))
        return {asked[r.id.int]: float(r.order_value) for r in records
                if r.order_value is not None}

    def count(self) -> int:
        from qdrant_edge import CountRequest

        with self._live() as shard:
            return shard.count(CountRequest(exact=True))

    def scroll(self, batch: int = 256) -> Iterator[dict[str, Any]]:
        from qdrant_edge import ScrollRequest

        offset = None
        while True:
            with self._live() as shard:
                records, offset = shard.scroll(ScrollRequest(
                    offset=offset, limit=batch, with_payload=True, with_vector=False))
            for r in records:
                yield _payload(r)
            if offset is None:
                return

    def hybrid_search(self, dense: list[list[float]], sparse: dict[int, float],
                      keyword_query: str, limit: int, offset: int = 0,
                      filters: SearchFilters | None = None,
                      spaces: Sequence[str] = TEXT_SPACES,
                      extra: dict[str, list[float]] | None = None) -> list[Hit]:
        """The engine's rankings (each query vector in each space, the keywords, and another
        model's query vector per space in `extra`), filtered in the engine, fused by
        records.fuse_search."""
        flt = edge_filter(filters or SearchFilters())
        depth = max(50, (limit + offset) * 4)
        with self._live():  # one open shard for every ranking of this search
            fused = fuse_search(lambda requests: self._rankings(requests, depth, flt), dense,
                                sparse, searchable(spaces, self._layout),
                                by_best_part(extra, self._layout), depth)[offset:]
            # Payloads for the page only (fuse_search's order is final: ties by id); a video
            # deleted since the rankings leaves its place to the next one.
            return fill_page(fused, limit, self._with_payloads)

    def _with_payloads(self, scored: Sequence[tuple[str, float]]) -> list[Hit]:
        payloads = {p["video_id"]: p for p in self.get_many([v for v, _ in scored])}
        return [Hit(v, score, payloads[v]) for v, score in scored if v in payloads]

    def _rankings(self, requests: Sequence[RankRequest], depth: int, flt
                  ) -> list[list[tuple[str, float]]]:
        """(video id, score) of each ranking, asked of the engine as one batch: it plans
        them together (a two-preference search's 8 rankings at 10k: 6.8 ms as one batch,
        7.4 ms one by one)."""
        from qdrant_edge import Query, QueryBatchRequest, QueryRequest, SparseVector

        dense_params = self._dense_params()

        def request(space: str, query) -> QueryRequest:
            if space == KEYWORDS:
                idx = sorted(query)
                query, params = SparseVector(idx, [float(query[i]) for i in idx]), None
            else:
                query, params = list(query), dense_params
            return QueryRequest(limit=depth, query=Query.Nearest(query, using=space),
                                filter=flt, params=params, with_payload=False,
                                with_vector=False)

        with self._live() as shard:
            found = shard.query_batch(QueryBatchRequest([request(*r) for r in requests]))
            names = self._video_ids_of(shard, [p for points in found for p in points])
        out, at = [], 0
        for points in found:
            out.append([(v, float(p.score)) for v, p in zip(names[at:at + len(points)], points,
                                                             strict=True) if v])
            at += len(points)
        return out

    def _video_ids_of(self, shard, points: Sequence[Any]) -> list[str]:
        """The video id of each point. A point id is a hash of its video id (store/ids.py),
        so the pair never changes and is remembered: a ranking then names its videos without
        reading a payload per result (a third of a 50-result ranking's time at 10k). Only
        points not seen before are read, all in one call; keyed by the id's integer, whose
        hash is C's (a UUID's is Python's)."""
        known = self._video_id_of
        keys = [p.id.int for p in points]
        unseen = [p.id for p, k in zip(points, keys, strict=True) if k not in known]
        if unseen:
            if len(known) > MAX_REMEMBERED_IDS:
                known.clear()
            for r in shard.retrieve(unseen, with_payload=["video_id"], with_vector=False):
                known[r.id.int] = str((r.payload or {}).get("video_id"))
        return [known.get(k, "") for k in keys]

    def _dense_params(self, ef: int = HNSW_EF):
        if self._size is None:
            self._size = self.count()
        return dense_search_params(self._size, ef)

    def fused_neighbours(self, vectors: dict[str, list[float]], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        """Nearest points by several named vectors at once (visual, audio, text), RRF-fused;
        with those vectors, not their payloads."""
        from qdrant_edge import Fusion, Prefetch, Query, QueryRequest

        flt = edge_filter(SearchFilters(), exclude)
        prefetches = [Prefetch(limit=max(50, limit * 4), filter=flt, params=self._dense_params(),
                               query=Query.Nearest(vec, using=name))
                      for name, vec in vectors.items()]
        with self._live() as shard:
            found = shard.query(QueryRequest(
                limit=2 * limit, prefetches=prefetches, query=Fusion.Rrf(k=RRF_K),
                with_payload=False, with_vector=list(vectors)))
            return page_of(self._id_hits(shard, found), 0, limit)

    def liked_neighbours(self, positives: Sequence[dict[str, list[float]]],
                         negatives: Sequence[dict[str, list[float]]],
                         weights: dict[str, float], limit: int,
                         exclude: Sequence[str] = ()) -> list[Hit]:
        """Videos near any liked video and away from the disliked, in each weighted space
        (the engine's best-score recommend), fused by weighted rank; with their vectors, not
        their payloads (80 real ones: 4 ms of a 21 ms query at 10k)."""
        from qdrant_edge import Fusion, Prefetch, Query, QueryRequest, RecommendQuery

        flt = edge_filter(SearchFilters(), exclude)
        spaces = liked_spaces(positives, weights)
        if not spaces:
            return []
        # Exact or HNSW as search is (_dense_params), with its own walk width (RECOMMEND_EF).
        params = self._dense_params(RECOMMEND_EF)
        prefetches = [Prefetch(limit=limit, filter=flt, params=params,
                               query=Query.RecommendBestScore(RecommendQuery(
                                   [p[s] for p in positives if s in p],
                                   [n[s] for n in negatives if s in n]), using=s))
                      for s in spaces]
        with self._live() as shard:
            found = shard.query(QueryRequest(
                limit=limit, prefetches=prefetches,
                query=Fusion.Rrf(k=RRF_K, weights=[weights[s] for s in spaces]),
                with_payload=False, with_vector=flat(self.sizes)))
            return page_of(self._id_hits(shard, found), 0, limit)

    def _id_hits(self, shard, found: Sequence[Any]) -> list[Hit]:
        """Scored points as hits with their vectors, and of their payloads only the id. A
        point's `vector` is read once: each read converts all its floats to Python anew."""
        names = self._video_ids_of(shard, found)
        return [Hit(v, float(p.score), {"video_id": v}, dense_only(p.vector))
                for v, p in zip(names, found, strict=True) if v]

    def nearest(self, vector: list[float], using: str, limit: int,
                exclude: Sequence[str] = ()) -> list[str]:
        """Video ids nearest to `vector` in the space `using`, leaving out `exclude`."""
        (found,) = self._rankings([(using, vector)], limit, edge_filter(SearchFilters(), exclude))
        return [v for v, _ in found]

    def keyword_ranking(self, text: str, limit: int, exclude: Sequence[str] = ()) -> list[str]:
        """Video ids ranked by the words of `text` (IDF-weighted sparse vectors)."""
        from shortlist.text import query_sparse

        sparse = query_sparse(text)
        if not sparse:
            return []
        (found,) = self._rankings([(KEYWORDS, sparse)], limit,
                                  edge_filter(SearchFilters(), exclude))
        return [v for v, _ in found]

    def vectors(self, video_ids: Sequence[str], spaces: Sequence[str] | None = None
                ) -> dict[str, dict[str, list]]:
        if not video_ids:
            return {}
        # Named by the ids asked for, not by payloads: the engine reads a point's whole
        # payload to return one field of it (a real one is a few KB: its transcript).
        asked = {_uuid(v).int: v for v in video_ids}
        with self._live() as shard:
            wanted = [s for s in (spaces or flat(self.sizes)) if s in self._layout]
            found = shard.retrieve([uuid.UUID(int=k) for k in asked], with_payload=False,
                                   with_vector=wanted or False)
        return {asked[r.id.int]: dense_only(r.vector, wanted) for r in found}

    def newest(self, limit: int) -> list[dict[str, Any]]:
        """The most recently ingested videos, by the engine's index on `ingested_at`."""
        from qdrant_edge import Direction, OrderBy, ScrollRequest

        with self._live() as shard:
            records, _ = shard.scroll(ScrollRequest(
                limit=limit, with_payload=True, with_vector=False,
                order_by=OrderBy("ingested_at", direction=Direction.Desc)))
        return [_payload(r) for r in records]


def _fresh_name() -> str:
    """A new shard's folder name: when it was made, and a few random characters."""
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"


def read_into_page_cache(shard_dir: Path, wait_s: float) -> None:
    """Read a held shard's segment files once, so that the operating system has them in
    memory before searches need them; waits up to `wait_s` for it, then lets it finish in
    the background. Vectors are memory-mapped (Cold: a one-off command opens fast) and HNSW
    reads them at random: at 100k videos with the page cache dropped, the first searches of
    a fresh server waited on the disk (text space 47-146 ms a ranking, then 4 ms once read);
    `posix_fadvise(WILLNEED)` did not fill the cache here, a plain read of the 1.2 GB did in
    1.1 s. A shard larger than half the machine's memory is left to the page cache's own
    judgement."""
    files = [f for f in (shard_dir / "segments").rglob("*") if f.is_file()]
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 0
    if memory and sum(f.stat().st_blocks * 512 for f in files) > memory // 2:
        return

    def read_all() -> None:
        buffer = bytearray(1 << 22)
        for file in files:
            try:
                _read_data_of(file, buffer)
            except OSError:  # a segment the engine replaced meanwhile
                continue

    thread = threading.Thread(target=read_all, name="shortlist-page-cache", daemon=True)
    thread.start()
    thread.join(wait_s)


def _read_data_of(file: Path, buffer: bytearray) -> None:
    """Read a file's written parts: the engine preallocates its storage files (a shard of a
    few videos has hundreds of MB of holes), and reading the holes would fill memory with
    zeros."""
    with open(file, "rb", buffering=0) as handle:
        fd, size = handle.fileno(), os.fstat(handle.fileno()).st_size
        if not hasattr(os, "SEEK_DATA"):  # no way to tell data from holes: read it all
            while handle.readinto(buffer):
                pass
            return
        position = 0
        while position < size:
            try:
                start = os.lseek(fd, position, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after `position`
                return
            end = os.lseek(fd, start, os.SEEK_HOLE)
            os.lseek(fd, start, os.SEEK_SET)
            while start < end and (got := handle.readinto(
                    memoryview(buffer)[:min(end - start, len(buffer))])):
                start += got
            position = end


def edge_filter(filters: SearchFilters, exclude: Sequence[str] = ()):
    """SearchFilters (and ids to leave out) as an Edge filter; None when nothing narrows."""
    from qdrant_edge import FieldCondition, Filter, HasIdCondition, MatchAny, MatchValue, RangeFloat

    must: list[Any] = []
    if filters.tags:
        must.append(FieldCondition("tags", match=MatchAny(list(filters.tags))))
    if filters.genres:
        must.append(FieldCondition("genres", match=MatchAny(list(filters.genres))))
    if filters.min_duration_s is not None or filters.max_duration_s is not None:
        must.append(FieldCondition("duration_s", range=RangeFloat(
            gte=filters.min_duration_s, lte=filters.max_duration_s)))
    if filters.language:
        must.append(FieldCondition("language", match=MatchValue(filters.language)))
    if filters.has_speech is not None:
        must.append(FieldCondition(SPEECH_KEY, match=MatchValue(str(filters.has_speech).lower())))
    must_not = [HasIdCondition({_uuid(v) for v in exclude})] if exclude else []
    if not must and not must_not:
        return None
    return Filter(must=must or None, must_not=must_not or None)


def _check_sizes(directory: Path, sizes: dict[str, int]) -> dict[str, int]:
    """The shard's spaces; refuses one made with other vectors (another embedder). One made
    before moments were stored is taken as it is (records.fits_layout)."""
    try:
        config = json.loads((directory / "edge_config.json").read_text())
    except (OSError, ValueError):
        return dict(sizes)  # no config yet: opening reports what is wrong
    found = {name: v.get("size") for name, v in (config.get("vectors") or {}).items()}
    if not fits_layout(found, sizes):
        raise StoreUnavailable(
            f"the catalogue at {directory} was made with other vector sizes {found} (this "
            f"text embedder writes {sizes}): ingest into a new SHORTLIST_DATA_DIR, or set "
            "SHORTLIST_COLLECTION to a new name")
    return found


def _schema(kind: str):
    from qdrant_edge import PayloadSchemaType

    return {"keyword": PayloadSchemaType.Keyword, "float": PayloadSchemaType.Float,
            "bool": PayloadSchemaType.Bool, "datetime": PayloadSchemaType.Datetime}[kind]


@functools.lru_cache(maxsize=1 << 16)  # parsing showed in a long history's reads
def _uuid(video_id: str) -> uuid.UUID:
    return uuid.UUID(point_id_for(video_id))


def _payload(record) -> dict[str, Any]:
    payload = dict(record.payload or {})
    payload.pop(SPEECH_KEY, None)
    return payload
