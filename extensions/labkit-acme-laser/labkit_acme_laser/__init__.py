"""labkit driver (and simulator) for the ACME LD-100 laser diode controller."""

from labkit_acme_laser._driver import AcmeLD100
from labkit_acme_laser._simulator import LD100Simulator, serve_simulator

__all__ = ["AcmeLD100", "LD100Simulator", "serve_simulator"]
