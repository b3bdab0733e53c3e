"""The serve sections of a station file and pva:// addresses, checked with clear errors."""

from __future__ import annotations

import pytest

from labkit.core import ConfigurationError
from labkit.remote import parse_address, serve_config


def test_defaults_are_loopback_port_5075_and_read_only():
    config = serve_config(None)
    assert config.interfaces == ("127.0.0.1",)
    assert config.loopback_only
    assert config.port == 5075
    assert config.access.write == ()


def test_the_command_line_overrides_the_file():
    config = serve_config(
        {"prefix": "A:", "interfaces": ["0.0.0.0"], "port": 6000},
        {"smu": {"poll": {"current": "5 Hz", "voltage": 0.5}}},
        prefix="B:",
        port=0,
    )
    assert (config.prefix, config.port, config.interfaces) == ("B:", 0, ("0.0.0.0",))
    assert not config.loopback_only
    assert config.poll == {"smu": {"current": 5.0, "voltage": 0.5}}


@pytest.mark.parametrize(
    ("serve", "instruments", "words"),
    [
        ({"prefix": "has space"}, None, "cannot start a PV name"),
        ({"interfaces": ["eth0"]}, None, "is not an address"),
        ({"port": 70000}, None, "is not a TCP port"),
        ({"bind": "x"}, None, "unknown keys"),
        (None, {"smu": {"poll": {"current": -1}}}, "must be positive"),
        (None, {"smu": {"poll": {"current": "5 V"}}}, "smu.serve.poll.current"),
        (None, {"smu": {"poll": ["current"]}}, "map each reading to its rate"),
    ],
)
def test_malformed_sections_say_what_is_wrong(serve, instruments, words):
    with pytest.raises(ConfigurationError, match=words):
        serve_config(serve, instruments)


def test_addresses():
    address = parse_address("pva://127.0.0.1:5075/LAB1:smu")
    assert (address.host, address.port, address.name) == ("127.0.0.1", 5075, "LAB1:smu")
    assert address.client_conf()["EPICS_PVA_NAME_SERVERS"] == "127.0.0.1:5075"
    assert parse_address("pva://bench3/B3:tc").client_conf()["EPICS_PVA_ADDR_LIST"] == "bench3"
    for bad in ("http://x/y", "pva:///smu", "pva://host/", "pva://host:99999/a"):
        with pytest.raises(ConfigurationError, match="pva://HOST"):
            parse_address(bad)
