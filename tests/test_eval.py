"""Quality on the sample corpus, end to end: ingest it, then `shortlist eval` against baselines."""

from __future__ import annotations

import pytest

from tests.conftest import cli_json, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.long]


@pytest.fixture(scope="module")
def report(corpus, tmp_path_factory):
    data = tmp_path_factory.mktemp("eval-data")
    ingest = run_cli("ingest", str(corpus), data_dir=data)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    return cli_json("eval", str(corpus), data_dir=data)


def test_search_beats_tfidf_over_transcripts_on_every_query_type(report):
    ours, tfidf = report["search"]["shortlist"], report["search"]["tfidf-transcript"]
    assert ours["overall"]["ndcg@10"] > tfidf["overall"]["ndcg@10"] + 0.2
    for query_type, metrics in ours["by_type"].items():
        # keyword queries name one spoken word: TF-IDF's own ground, matched, not beaten
        assert metrics["ndcg@10"] >= tfidf["by_type"][query_type]["ndcg@10"] - 0.02, query_type


def test_search_finds_what_is_only_seen_not_said(report):
    ours = report["search"]["shortlist"]
    assert report["videos_without_speech"] >= 25
    assert ours["recall@10_by_speech"]["no speech"] >= 0.5  # transcript-only systems: 0
    assert report["search"]["minilm-transcript"]["recall@10_by_speech"]["no speech"] == 0
    assert ours["by_type"]["visual"]["recall@10"] >= 0.6


def test_recommendations_beat_the_reference_designs_mean_vector(report):
    rec = report["recommend"]
    assert rec["users"] >= 30 and rec["two_category_users"] >= 10
    # Issue 11's target is 1.3x (1.44x measured); guard regressions with a margin.
    assert rec["shortlist"]["precision@10"] >= 1.2 * rec["minilm-mean-transcript"]["precision@10"]
    assert rec["shortlist"]["ndcg@10"] >= 1.2 * rec["minilm-mean-transcript"]["ndcg@10"]
    assert rec["shortlist"]["precision@10"] >= 2 * rec["random"]["precision@10"]


def test_eval_without_ingest_says_what_to_do(corpus, tmp_path):
    proc = run_cli("eval", str(corpus), data_dir=tmp_path)
    assert proc.returncode == 1 and "run `shortlist ingest" in proc.stderr


def test_search_answers_with_the_second_it_happens(report):
    moments = report["moments"]
    assert moments["queries"] >= 15
    assert moments["hit_rate"] >= 0.8  # issue 14's target (0.905 measured)
    assert moments["hit_rate"] >= moments["start_0_hit_rate"] + 0.5
