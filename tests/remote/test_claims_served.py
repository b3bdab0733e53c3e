"""One run per setting, on the wire: a claim keeps every other client off a setting, foreign
clients included, and lapses when its owner stops renewing it (killed mid-run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from labkit.remote._link import PvaLink, RemoteRefused
from tests.remote.conftest import python_env


def claim(link: PvaLink, action: str, settings: str, run: str, lease: float = 5) -> str:
    answer = link.call(
        "T:smu:_claim",
        {"action": action, "settings": settings, "run": run, "lease": str(lease)},
    )
    return str(answer["value"])


def test_a_claimed_setting_refuses_other_clients_and_tells_who_holds_it(bench_server, monitor):
    station, server = bench_server
    address = server.address("smu")
    with PvaLink(address) as owner, PvaLink(address) as other:
        assert "claim: smu.source_voltage" in claim(owner, "claim", "source_voltage", "iv-1")
        owner.put("T:smu:source_voltage", 0.3)  # the owner still writes
        with pytest.raises(RemoteRefused) as refused:
            other.put("T:smu:source_voltage", 0.9)
        assert "run 'iv-1' of account" in str(refused.value)
        assert "is using it" in str(refused.value)
        other.put("T:smu:nplc", 2)  # other settings stay free
        with pytest.raises(RemoteRefused, match="cannot command smu"):
            other.put("T:smu:reset", 1)  # an action could disturb the run: refused too
        with pytest.raises(RemoteRefused, match="held by run 'iv-1'"):
            claim(other, "claim", "source_voltage", "iv-2")
        pv = owner.get("T:smu:source_voltage")
        assert pv["labkit.claim"].startswith("run 'iv-1' of account")
        claim(owner, "release", "source_voltage", "iv-1")
        monitor("T:smu:source_voltage").wait_for(lambda v: v["labkit.claim"] == "")
        other.put("T:smu:source_voltage", 0.9)
    assert station.smu.source_voltage == 0.9


def test_a_claim_of_something_else_is_refused_with_the_reason(bench_server):
    _, server = bench_server
    with PvaLink(server.address("smu")) as link:
        with pytest.raises(RemoteRefused, match="'current' is not a setting of smu"):
            claim(link, "claim", "current", "r")
        with pytest.raises(RemoteRefused, match="names its run"):
            claim(link, "claim", "source_voltage", "")


KILLED_OWNER = textwrap.dedent(
    """
    import os, sys
    from labkit.remote._link import PvaLink
    link = PvaLink(sys.argv[1])
    link.call("T:smu:_claim", {"action": "claim", "settings": "source_voltage",
                               "run": "doomed", "lease": "1"})
    print("claimed", flush=True)
    os.kill(os.getpid(), 9)
    """
)


def test_the_claim_of_a_killed_client_lapses(bench_server, monitor):
    station, server = bench_server
    voltage = monitor("T:smu:source_voltage")
    owner = subprocess.run(
        [sys.executable, "-c", KILLED_OWNER, server.address("smu")],
        capture_output=True,
        text=True,
        env=python_env(server),
        timeout=120,
    )
    assert owner.stdout.strip() == "claimed"
    assert owner.returncode == -9
    voltage.wait_for(lambda v: "doomed" in v["labkit.claim"])
    voltage.wait_for(lambda v: v["labkit.claim"] == "")  # the lease ran out, nobody renewed it
    with PvaLink(server.address("smu")) as link:
        link.put("T:smu:source_voltage", 0.2)
    assert station.smu.source_voltage == 0.2
