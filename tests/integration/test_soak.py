"""A small fault soak (``benchmarks/soak.py``): 300 jobs through ``queue.map`` with a journal.

503s (5%) and dropped connections (1%) on submit, status and response; bursts of five 429s every
100 submits.  (429 bursts on the poll routes are left to the full soak: see ``benchmarks/soak.py``
and the poll budget's slow recovery after a burst.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.soak import SoakConfig, run_soak


@pytest.mark.slow
def test_every_outcome_once_no_duplicate_submit_nothing_leaked() -> None:
    """Each of 300 inputs gets exactly one outcome, at most one job, no resend after a drop, no leak."""
    summary = run_soak(
        SoakConfig(jobs=300, seed=1, concurrency=64, burst_every=100, burst_routes=("queue.submit",))
    )
    assert (summary["delivered"], summary["lost"], summary["duplicated"]) == (300, 0, 0)
    assert summary["misattributed"] == 0
    assert summary["duplicate_jobs"] == 0 and summary["resent_after_drop"] == 0
    assert summary["leaked_tasks"] == [] and summary["resource_warnings"] == []
    assert summary["session_closed"] and summary["server_connections_left"] == 0
    faults = summary["faults_injected"]
    assert faults["queue.submit 429 burst"] >= 10
    # Faults are drawn at random (1 % drops): each kind must have fired somewhere, not on every route.
    assert faults["queue.submit 503"] > 0 and faults["queue.response 503"] > 0
    assert sum(n for name, n in faults.items() if name.endswith(" drop")) > 0
    # Only a submit that may have reached the gateway (its connection dropped) or that 503'd through
    # its whole retry budget (3 in a row: rare, but the draw is random) ends in an error.
    assert set(summary["errors"]) <= {"APIConnectionError", "InternalServerError"}
    assert summary["errors"].get("APIConnectionError", 0) <= faults["queue.submit drop"]
    assert summary["errors"].get("InternalServerError", 0) <= faults["queue.submit 503"] // 3
    assert summary["ok_results"] == 300 - sum(summary["errors"].values())
    assert summary["ok"]
