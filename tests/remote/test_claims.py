"""One run per setting: claims, leases that lapse, and a reconnected client taking its own back."""

from __future__ import annotations

import pytest

from labkit.remote import Claims, Client
from labkit.remote._claims import ClaimRefused


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


A = Client.of("127.0.0.1:1000", "alice")
A_AGAIN = Client.of("127.0.0.1:2000", "alice")  # the same process after a reconnect
B = Client.of("127.0.0.1:3000", "bob")


def test_a_claim_keeps_others_off_until_released_or_lapsed():
    clock = Clock()
    changed: list[set[str]] = []
    claims = Claims(clock=clock, on_change=changed.append)
    claims.claim(A, ["smu.v"], "run-1", lease=5)
    assert claims.refuse(A, "smu.v") is None
    refusal = claims.refuse(B, "smu.v")
    assert "run 'run-1' of account 'alice' at 127.0.0.1 is using it" in refusal
    assert claims.holder("smu.v") == "run 'run-1' of account 'alice' at 127.0.0.1"
    with pytest.raises(ClaimRefused, match="held by run 'run-1'"):
        claims.claim(B, ["smu.v"], "run-2", lease=5)
    clock.now = 4
    claims.claim(A, ["smu.v"], "run-1", lease=5)  # renewed
    clock.now = 8
    assert claims.refuse(B, "smu.v") is not None
    clock.now = 9.5
    claims.sweep()
    assert claims.refuse(B, "smu.v") is None  # lapsed: the client stopped renewing
    assert changed == [{"smu.v"}, {"smu.v"}]


def test_release_and_reconnect():
    claims = Claims(clock=Clock())
    claims.claim(A, ["smu.v", "smu.i"], "run-1", lease=5)
    claims.claim(A_AGAIN, ["smu.v"], "run-1", lease=5)  # same account, host and run
    with pytest.raises(ClaimRefused):
        claims.claim(A_AGAIN, ["smu.i"], "run-9", lease=5)
    claims.release(B, ["smu.i"], "run-1")  # not B's to release
    assert claims.refuse(B, "smu.i") is not None
    claims.release(A, ["smu.i", "smu.v"], "run-1")
    assert claims.refuse(B, "smu.i") is None
    assert claims.refuse(B, "smu.v") is None


def test_actions_wait_for_every_run_on_the_instrument():
    claims = Claims(clock=Clock())
    claims.claim(A, ["smu.v"], "run-1", lease=5)
    assert "cannot command smu" in claims.refuse_within(B, "smu")
    assert claims.refuse_within(A, "smu") is None
    assert claims.refuse_within(B, "dmm") is None
