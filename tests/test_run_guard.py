"""tests/run_guard.py: a test that never ran turns a green run red, and nothing else does."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LOSES_ONE = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    return True if item.name == "test_lost" else None  # as if no worker ever ran it
"""
TESTS = "def test_kept():\n    pass\n\ndef test_lost():\n    pass\n"


def test_a_collected_test_that_never_ran_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(LOSES_ONE)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "tests.run_guard")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 of 2 collected tests never ran*"])


def test_runs_that_ran_everything_or_chose_less_keep_their_exit(pytester: pytest.Pytester
                                                                 ) -> None:
    pytester.makepyfile(TESTS + "\nimport pytest\n\n@pytest.mark.skip\ndef test_skipped():\n"
                        "    pass\n\ndef test_failed_setup(missing_fixture):\n    pass\n")
    assert pytester.runpytest("-p", "tests.run_guard", "-k", "not failed_setup").ret == 0
    assert pytester.runpytest("-p", "tests.run_guard", "--collect-only").ret == 0
    assert pytester.runpytest("-p", "tests.run_guard", "-k", "kept").ret == 0
    errored = pytester.runpytest("-p", "tests.run_guard")
    errored.assert_outcomes(passed=2, skipped=1, errors=1)
    assert "never ran" not in errored.stdout.str()
