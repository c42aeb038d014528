"""Build an Edge shard's index in a process of its own, whole or only its newest part.

Qdrant Edge 0.9.0's `optimize()` holds Python's global lock for its whole run, so a build
inside `shortlist serve` stopped every request: 5 s at 8k unindexed videos, over 4
minutes at 64k, and writes meanwhile timed out. In a child process the server's threads
go on; the shard being built is a copy or a new build that nobody else has open.

Left to itself the engine merges the videos it has not indexed into the indexed segment it
already has, so each build cost the whole catalogue, and builds had to be rare: a quarter
of a catalogue waited outside the index, scanned by every query (at 100k videos the
engine's search batch went 7.6 -> 45 ms, bench/segments_bench.py). A segment cap
(`max_segment_size`) below the size of the segment the last whole build made keeps that
segment as it is: the new videos are indexed into a second, smaller segment, and a build
costs what that one holds (see segment_cap_kb).

    python -m shortlist.store.index_build SHARD_DIR [CAP_KB]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# The command that builds a shard's index; tests put a gate in front of it.
BUILDER = [sys.executable, "-m", "shortlist.store.index_build"]
# Beside the engine's files in a shard's folder: how many videos the shard held when its
# index was last built whole (the size of its big segment).
WHOLE_BUILD_FILE = "shortlist-index.json"
# A build is whole again once the videos written since the last whole one pass
# WHOLE_AGAIN_AFTER of it; until then the newer videos' segment stays under that share of
# the big one's size, and the cap, at SEGMENT_CAP_SHARE, between the two, keeps them apart.
# Each bound holds with a 25% error in the estimate of a video's size (a video's moments
# vary in number).
WHOLE_AGAIN_AFTER = 0.6
SEGMENT_CAP_SHARE = 0.8


class IndexBuildFailed(RuntimeError):
    """The child process could not build the index (what it said is in the message)."""


def whole_build_due(videos: int, whole_videos: int | None) -> bool:
    """Whether the next build of a shard that holds `videos`, and held `whole_videos` at
    its last whole build, is whole: none was made yet, or the newer videos outgrew
    WHOLE_AGAIN_AFTER of it."""
    return not whole_videos or videos - whole_videos > WHOLE_AGAIN_AFTER * whole_videos


def segment_cap_kb(videos: int, whole_videos: int | None,
                   bytes_per_video: float) -> int | None:
    """The segment cap for a build of a shard that holds `videos` and held `whole_videos` at
    its last whole build, or None for a whole build (whole_build_due). The engine compares
    a segment's largest space in bytes (`bytes_per_video`: an estimate) with the cap.

    Why this bound: with a cap, the engine indexes the new videos together with its smallest
    indexed segment if both fit under the cap, else on their own. Sized at
    SEGMENT_CAP_SHARE of the big segment, the cap lets the newer videos' segment grow and
    never lets them into the big one, so a build costs at most WHOLE_AGAIN_AFTER of the
    big one, and whole builds come each time the catalogue grew by that share."""
    if whole_build_due(videos, whole_videos):
        return None
    return max(1, int(SEGMENT_CAP_SHARE * whole_videos * bytes_per_video / 1024))


def whole_build_videos(shard_dir: Path) -> int | None:
    """How many videos the shard held at its last whole build (None: not known)."""
    try:
        return int(json.loads((shard_dir / WHOLE_BUILD_FILE).read_text())["videos"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def note_whole_build(shard_dir: Path, videos: int) -> None:
    partial = shard_dir / f"{WHOLE_BUILD_FILE}.partial"
    partial.write_text(json.dumps({"videos": videos}))
    os.replace(partial, shard_dir / WHOLE_BUILD_FILE)


def set_segment_cap(shard_dir: Path, cap_kb: int | None) -> None:
    """Write the cap into the engine's own configuration file while the shard is closed:
    the engine offers no way to change it on an open shard, and loading with a new config
    would need every setting the shard was made with (older catalogues differ)."""
    config_file = shard_dir / "edge_config.json"
    config = json.loads(config_file.read_text())
    optimizers = config.get("optimizers") or {}
    if optimizers.get("max_segment_size") == cap_kb:
        return
    config["optimizers"] = {**optimizers, "max_segment_size": cap_kb}
    partial = config_file.with_suffix(".partial")
    partial.write_text(json.dumps(config, indent=2))
    os.replace(partial, config_file)


def start_build(shard_dir: Path, cap_kb: int | None = None) -> subprocess.Popen:
    """The child that builds `shard_dir`'s index; `finish_build` waits for it."""
    cap = [] if cap_kb is None else [str(cap_kb)]
    return subprocess.Popen([*BUILDER, str(shard_dir), *cap], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish_build(child: subprocess.Popen) -> None:
    """Wait for the child (the wait releases Python's lock) and raise if it failed."""
    _, err = child.communicate()
    if child.returncode != 0:
        said = (err or "").strip().splitlines()[-3:]
        raise IndexBuildFailed(f"building the index in a child process failed (exit "
                               f"{child.returncode}): {' / '.join(said) or 'no message'}")


def build_in_child(shard_dir: Path, cap_kb: int | None = None) -> None:
    finish_build(start_build(shard_dir, cap_kb))


def build(shard_dir: Path, cap_kb: int | None) -> None:
    """Index what the closed shard at `shard_dir` holds outside its index (see module)."""
    from qdrant_edge import EdgeShard

    set_segment_cap(shard_dir, cap_kb)
    shard = EdgeShard.load(str(shard_dir))
    try:
        shard.optimize()
        shard.flush()
        if cap_kb is None:
            note_whole_build(shard_dir, shard.info().points_count)
    finally:
        shard.close()


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: python -m shortlist.store.index_build SHARD_DIR [CAP_KB]",
              file=sys.stderr)
        return 2
    build(Path(argv[0]), int(argv[1]) if len(argv) == 2 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
