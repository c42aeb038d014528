"""A run that did not run every test it collected does not pass.

pytest-xdist runs one of the tests that share a node id and still exits 0: schemathesis'
per-operation items did so under pytest 9 (224 of 250 passed, 26 never ran). Loaded by
tests/conftest.py; on xdist's controller, or in a run without workers."""

from __future__ import annotations

from collections import Counter

import pytest


class RunGuard:
    def __init__(self) -> None:
        self.ran = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # One per test that ran: its call, or a setup that failed or skipped it.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.ran += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != 0 or session.config.option.collectonly:
            return
        if self.ran < session.testscollected:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"{session.testscollected - self.ran} of "
                                    f"{session.testscollected} collected tests never ran",
                                    red=True, bold=True)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # an xdist worker runs only its share
        config.pluginmanager.register(RunGuard(), "shortlist-run-guard")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Say which tests share a node id before a parallel run skips all but one of each."""
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    if twice:
        raise pytest.UsageError("tests share a node id, and a parallel run would skip all but "
                                f"one of each: {', '.join(twice[:5])}")
