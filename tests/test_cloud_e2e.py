"""The cloud backends end to end, all on at once, each against its stand-in: Gemini describes,
Vertex embeds the text, Marengo the video (tests/standin_vertex.py, tests/standin_twelvelabs.py).
One ingest that fails, one that succeeds and searches: an ingest costs half a minute here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.standin_twelvelabs import twelvelabs_standin
from tests.standin_vertex import vertex_standin

ROOT = Path(__file__).resolve().parents[1]
GOOGLE_KEY = "test-key-not-a-secret-e2e1"
TWELVE_KEY = "tlk-test-key-not-a-secret-e2e2"

pytestmark = pytest.mark.slow


def test_ingest_and_search_with_every_cloud_backend(tmp_path, media):
    with vertex_standin() as vertex, twelvelabs_standin() as twelve:
        env = {**os.environ, "SHORTLIST_DATA_DIR": str(tmp_path / "data"),
               "PREFECT_HOME": str(tmp_path / "prefect"),
               "SHORTLIST_DESCRIBER": "gemini", "SHORTLIST_TEXT_EMBEDDER": "vertex",
               "SHORTLIST_VERTEX_EMBEDDING_DIM": "64", "SHORTLIST_VIDEO_EMBEDDER": "marengo",
               "GOOGLE_API_KEY": GOOGLE_KEY, "TWELVELABS_API_KEY": TWELVE_KEY,
               "SHORTLIST_VERTEX_BASE_URL": vertex.base_url,
               "SHORTLIST_TWELVELABS_BASE_URL": twelve.base_url,
               "SHORTLIST_MARENGO_POLL_S": "0.05", "SHORTLIST_CLOUD_ATTEMPTS": "2",
               "SHORTLIST_CLOUD_RETRY_DELAY_S": "0.05"}

        def cli(*args: str, **extra: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "shortlist.cli", *args], cwd=ROOT,
                                  env={**env, **extra}, capture_output=True, text=True,
                                  timeout=600)

        # Gemini answers 500 twice (every attempt): the video fails with the reason and
        # nothing of it is stored; the next ingest tries it again.
        vertex.script = ["500"] * 2
        failed = cli("ingest", str(media["vertical"]))
        assert failed.returncode == 1 and "Vertex AI answered 500" in failed.stdout, failed.stdout
        assert json.loads(cli("list", "--json").stdout) == []
        twelve.video_words = ["violin concert | penguins ice"]
        done = cli("ingest", str(media["vertical"]))
        assert done.returncode == 0, done.stdout + done.stderr
        [row] = json.loads(cli("list", "--json").stdout)
        record = json.loads(cli("show", row["video_id"], "--json").stdout)
        assert record["title"] == "Penguins waddle on the ice"  # the stand-in's entry
        assert record["describer"] == "gemini:gemini-3.6-flash+prompt-1"
        assert record["models"]["embed"].startswith("vertex-gemini-embedding-001:64d:")
        assert record["models"]["video_embed"] == "twelvelabs:marengo3.0"
        assert record["video_clips"] == [[0.0, 6.0], [6.0, 12.0]]
        documents = [r for r in vertex.requests if "mbed" in r["path"]]
        assert documents and all("RETRIEVAL_DOCUMENT" in json.dumps(r["body"])
                                 for r in documents)

        # Search embeds the query with both models and ranks by their vectors.
        found = cli("search", "penguins on the ice", "--json")
        assert found.returncode == 0, found.stderr
        [hit] = json.loads(found.stdout)
        assert hit["video_id"] == row["video_id"]
        # Nothing said there: the result opens at Marengo's clip that shows the query
        assert (hit["start_s"], hit["end_s"], hit["moment_text"]) == (6.0, 12.0, None)
        assert "RETRIEVAL_QUERY" in json.dumps(vertex.requests[-1]["body"])
        assert twelve.requests[-1]["fields"]["text"] == [b"penguins on the ice"]

        # The same catalogue opened with the local text embedder is refused, with the way out.
        refused = cli("search", "penguins", SHORTLIST_TEXT_EMBEDDER="local")
        assert refused.returncode != 0 and "other vector sizes" in refused.stderr
        logs = (failed.stdout + failed.stderr + done.stdout + done.stderr + found.stdout
                + refused.stderr + json.dumps(record))
        assert GOOGLE_KEY not in logs and TWELVE_KEY not in logs
