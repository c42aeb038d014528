"""Quality on the sample corpus, end to end: ingest it, then `shortlist eval` against baselines."""

from __future__ import annotations

import pytest

from tests.conftest import cli_json, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(corpus, tmp_path_factory):
    data = tmp_path_factory.mktemp("eval-data")
    ingest = run_cli("ingest", str(corpus), data_dir=data)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    return cli_json("eval", str(corpus), data_dir=data)


def test_search_beats_tfidf_over_transcripts_on_every_query_type(report):
    ours, tfidf = report["search"]["shortlist"], report["search"]["tfidf-transcript"]
    for query_type, metrics in ours["by_type"].items():
        assert metrics["mrr@10"] > tfidf["by_type"][query_type]["mrr@10"], query_type
        assert metrics["ndcg@10"] > tfidf["by_type"][query_type]["ndcg@10"], query_type


def test_search_finds_what_is_only_seen_not_said(report):
    visual = report["search"]["shortlist"]["by_type"]["visual"]
    assert visual["recall@10"] >= 0.6  # transcript-only systems score 0 here
    assert report["search"]["minilm-transcript"]["by_type"]["visual"]["recall@10"] == 0


def test_recommendations_well_above_random(report):
    rec = report["recommend"]
    assert rec["users"] >= 5
    # The goal is 2x; the sample corpus gives ~1.9x (see bench/results). Guard regressions.
    assert rec["shortlist"]["precision@10"] >= 1.5 * rec["random"]["precision@10"]
    # and at least as good as recommending by TF-IDF over transcripts
    assert rec["shortlist"]["precision@10"] >= rec["tfidf-transcript"]["precision@10"]


def test_eval_without_ingest_says_what_to_do(corpus, tmp_path):
    proc = run_cli("eval", str(corpus), data_dir=tmp_path)
    assert proc.returncode == 1 and "run `shortlist ingest" in proc.stderr
