"""horde-sdk 0.33.3's own live tests against a fresh horde of ours in each mode
(tests/e2e/sdk_suite.py runs them, in the background while the rest of the suite runs).

Each SDK test is one case here, so a failure names it; the expected failures carry a strict
xfail with the reason (an issue), and fail here once they pass.
"""

import pytest

from tests.e2e import sdk_suite


@pytest.fixture(scope="module")
def suites():
    found: dict[str, sdk_suite.SuiteRun] = {}

    def get(mode: str) -> sdk_suite.SuiteRun:
        if mode not in found:
            found[mode] = sdk_suite.results(mode)
        return found[mode]

    return get


@pytest.mark.parametrize("mode", sdk_suite.MODES)
def test_the_sdk_ran_every_test_we_know_and_no_other(suites, mode):
    run = suites(mode)
    assert sorted(run.outcomes) == sorted(sdk_suite.TESTS[mode])
    assert run.worker_errors == []


@pytest.mark.parametrize(("mode", "name"), sdk_suite.cases())
def test_sdk(suites, mode, name):
    sdk_suite.check_outcome(suites(mode), mode, name)
