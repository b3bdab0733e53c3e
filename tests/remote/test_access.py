"""Who may write and read: grants by account, group and host; read-only by default."""

from __future__ import annotations

import pytest

from labkit.core import ConfigurationError
from labkit.remote import AccessPolicy, Client
from labkit.remote._access import host_of_peer

ALICE = Client.of("127.0.0.1:50000", "alice")
BOB_REMOTE = Client.of("10.0.0.7:40000", "bob", ["students"])


def test_nothing_is_writable_unless_the_station_grants_it():
    policy = AccessPolicy.from_config(None, source="lab.yaml")
    refusal = policy.refuse_write(ALICE, "smu.source_voltage")
    assert refusal == (
        "write to smu.source_voltage refused for account 'alice' at 127.0.0.1: "
        "lab.yaml serves it read-only (no serve.access.write grants)"
    )
    assert policy.refuse_read("10.0.0.7", "smu.source_voltage") is None  # reads are open


def test_a_grant_needs_both_the_account_and_the_host():
    policy = AccessPolicy.from_config({"write": [{"account": "alice", "host": "127.0.0.1"}]})
    assert policy.refuse_write(ALICE, "smu.output") is None
    assert "account 'bob' at 10.0.0.7" in policy.refuse_write(BOB_REMOTE, "smu.output")
    elsewhere = Client.of("10.0.0.9:1", "alice")
    assert policy.refuse_write(elsewhere, "smu.output") is not None


def test_groups_networks_and_only():
    policy = AccessPolicy.from_config(
        {
            "write": [
                {"group": "students", "host": "10.0.0.0/24", "only": ["smu.source_voltage"]},
                {"account": "*", "host": "localhost", "only": ["dmm"]},
            ]
        }
    )
    assert policy.refuse_write(BOB_REMOTE, "smu.source_voltage") is None
    assert policy.refuse_write(BOB_REMOTE, "smu.current_limit") is not None
    assert policy.refuse_write(ALICE, "dmm.nplc") is None
    assert policy.refuse_write(ALICE, "dmm2.nplc") is not None  # "dmm" is a name, not a prefix
    assert policy.refuse_write(ALICE, "smu.output") is not None


def test_reads_are_restricted_by_host_only():
    policy = AccessPolicy.from_config({"read": [{"host": "127.0.0.1"}]})
    assert policy.refuse_read("127.0.0.1", "smu.output") is None
    assert "client at 10.0.0.7" in policy.refuse_read("10.0.0.7", "smu.output")
    with pytest.raises(ConfigurationError, match="restrict reads by host"):
        AccessPolicy.from_config({"read": [{"account": "alice", "host": "127.0.0.1"}]})


@pytest.mark.parametrize(
    ("grant", "words"),
    [
        ({"account": "alice"}, "names no host"),
        ({"host": "127.0.0.1"}, "names no account or group"),
        ({"account": "a", "host": "no-such-host.invalid"}, "cannot be resolved"),
        ({"account": "a", "host": "127.0.0.1", "when": "never"}, "unknown keys"),
    ],
)
def test_malformed_grants_say_what_is_wrong(grant, words):
    with pytest.raises(ConfigurationError, match=words):
        AccessPolicy.from_config({"write": [grant]})


def test_the_host_of_a_peer():
    assert host_of_peer("127.0.0.1:5075") == "127.0.0.1"
    assert host_of_peer("[::1]:5075") == "::1"
    assert host_of_peer("somehost") == "somehost"
