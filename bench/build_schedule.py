"""How much index building a growing catalogue costs under the store's build rule, against
the rule before it (a whole build each time a quarter of the catalogue was unindexed).

  python bench/build_schedule.py [--sizes 100000 200000 400000 1000000] [--out DIR]

A calculation, not a timing: the catalogue grows 500 videos a write (as serving_bench's
does), the store's own rule (edge_store.OPTIMIZE_AFTER and BUILD_SHARE, and
index_build.whole_build_due) decides when a build comes and whether it is whole, and a build
costs the videos it indexes: all of them for a whole build, those written since the last
whole one for a capped build. Real builds are not linear in videos (HNSW), so the timings in
README.md are the measure; this says how the two rules scale beyond what was timed.
Writes OUT/build_schedule.json and OUT/build_schedule.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shortlist.store.edge_store import BUILD_SHARE, OPTIMIZE_AFTER  # noqa: E402
from shortlist.store.index_build import whole_build_due  # noqa: E402

WRITE = 500


def schedule(videos: int, quarter_rule: bool) -> dict:
    """Videos indexed by all builds while a catalogue grows to `videos`, the builds, and the
    largest share of it left unindexed in the second half of the growth."""
    indexed = builds = written = unindexed = 0
    whole: int | None = None
    worst_tail = 0.0
    while written < videos:
        written += WRITE
        unindexed += WRITE
        share = 0.25 if quarter_rule else BUILD_SHARE
        if unindexed >= max(OPTIMIZE_AFTER, written * share):
            capped = not quarter_rule and not whole_build_due(written, whole)
            indexed += written - whole if capped and whole else written
            whole = whole if capped else written
            builds += 1
            unindexed = 0
        if written > videos // 2:
            worst_tail = max(worst_tail, unindexed / written)
    return {"videos_indexed": indexed, "builds": builds, "worst_unindexed_share":
            round(worst_tail, 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 400_000,
                                                              1_000_000])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    rows = [{"videos": n, "quarter rule": schedule(n, True), "store's rule": schedule(n, False)}
            for n in args.sizes]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "build_schedule.json").write_text(json.dumps(rows, indent=1))
    lines = ["# Index builds while a catalogue grows", "",
             f"Counted in videos indexed, {WRITE} videos a write; the store's rule builds when "
             f"max({OPTIMIZE_AFTER}, {BUILD_SHARE:g} x catalogue) are unindexed, beside the big "
             "segment until the newer videos outgrow a share of it; worst unindexed: the largest "
             "share of the catalogue outside the index in the second half of its growth. "
             "Command: "
             "`python bench/build_schedule.py`.", "",
             "| videos | quarter rule: indexed / builds / worst unindexed | store's rule: "
             "indexed / builds / worst unindexed | ratio |", "|---|---|---|---|"]
    for row in rows:
        old, new = row["quarter rule"], row["store's rule"]
        lines.append(f"| {row['videos']:,} | {old['videos_indexed']:,} / {old['builds']} / "
                     f"{old['worst_unindexed_share']:.0%} | {new['videos_indexed']:,} / "
                     f"{new['builds']} / {new['worst_unindexed_share']:.1%} | "
                     f"{new['videos_indexed'] / old['videos_indexed']:.2f} |")
    (out / "build_schedule.md").write_text("\n".join(lines) + "\n")
    print((out / "build_schedule.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
