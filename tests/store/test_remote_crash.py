"""A run killed with SIGKILL mid-way on object storage keeps what it reported stored, and is
listed as interrupted from its heartbeat and owner (there is no lock file in a bucket)."""

from __future__ import annotations

import json

import pytest

import labkit
from tests.runs.crash import kill_at_random
from tests.runs.test_crash import KINDS


@pytest.mark.slow
@pytest.mark.parametrize("kind", [k for k in KINDS if k in ("sweep", "timeseries")] + [KINDS[2]])
def test_sigkill_on_s3(s3, s3_root, monkeypatch, kind):
    options = json.dumps(s3.storage_options)
    monkeypatch.setenv("CRASH_STORAGE_OPTIONS", options)
    outcome = kill_at_random(
        kind, 0, s3_root.url, {"CRASH_STORAGE_OPTIONS": options}, after_first_report=True
    )
    assert outcome.opened
    assert outcome.lost == []
    assert outcome.torn == []
    assert outcome.reported > 0
    (info,) = labkit.runs(root=s3_root.url, **s3_root.kwargs())
    assert info.status == "interrupted"
    assert info.points >= outcome.reported
    assert labkit.open_run(info).attrs["status"] == "interrupted"
