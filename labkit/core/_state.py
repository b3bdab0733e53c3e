"""What one instrument knows about one of its settings beyond the declaration.

The declaration holds the hard limits from the manual; here live the soft limits a user set,
an instructor's lock, the ramp rate in use, the interlocks, and whether the hardware is busy
with the setting or refused it. These are traits, so a panel can observe them; the rules that
change them are the pure functions of :mod:`._guards`, applied here with the instrument named.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import All, Bool, Float, HasTraits, Instance, Unicode, observe

from labkit.core._errors import LabkitError, LockedError
from labkit.core._guards import (
    Bound,
    SettingLock,
    bounds_in_force,
    check_lock,
    check_ramp_rate,
    check_soft_limits,
    check_value,
    check_writable,
)
from labkit.core._spec import TraitSpec

if TYPE_CHECKING:
    from labkit.core._conditions import Interlock

__all__ = ["Bound", "SettingLock", "SettingState"]


class SettingState(HasTraits):
    """Observable per-instance state of a setting, and the guards on its values.

    ``owner`` is the instrument's name, for the errors the guards raise.
    """

    soft_min = Float(None, allow_none=True, help="Lower soft limit, within the hard limits")
    soft_max = Float(None, allow_none=True, help="Upper soft limit, within the hard limits")
    ramp_rate = Float(None, allow_none=True, help="Ramp rate in use (declared unit per second)")
    lock = Instance(SettingLock, allow_none=True, help="An instructor's lock, if any")
    busy = Bool(False, help="The instrument is working on this setting")
    error = Unicode("", help="Why the last change was refused or failed; empty if it worked")

    def __init__(self, spec: TraitSpec, owner: str | None = None) -> None:
        super().__init__(soft_min=spec.soft_min, soft_max=spec.soft_max, ramp_rate=spec.ramp)
        self.spec = spec
        self.owner = owner
        self.interlocks: list[Interlock] = []
        self._bounds: tuple[Bound, Bound] | None = None

    @observe("soft_min", "soft_max", "lock")
    def _limits_changed(self, change: Any) -> None:
        self._bounds = None

    def declaration_changed(self) -> None:
        """The declaration's limits moved (a device said so): recompute the range in force."""
        self._bounds = None

    # -- the range in force --------------------------------------------------------------

    def bounds(self, spec: TraitSpec | None = None) -> tuple[Bound, Bound]:
        """The tightest lower and upper bounds in force, with their source (cached: every
        set checks them, they change only when limits, locks or the declaration do)."""
        if self._bounds is None:
            self._bounds = self._compute_bounds()
        return self._bounds

    def _compute_bounds(self) -> tuple[Bound, Bound]:
        return bounds_in_force(self.spec, self.soft_min, self.soft_max, self.lock)

    # -- the guards ----------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """``value`` as it would be sent, or the error refusing it (no I/O, no interlocks)."""
        spec = self.spec
        try:
            if not spec.writable:
                check_writable(spec, value, self.owner)
            lock = self._trait_values.get("lock")  # no descriptor: every set asks
            return check_value(spec, value, self._bounds or self.bounds(), lock)
        except LabkitError as error:
            raise self._named(error) from None

    def limit(self, low: Any, high: Any) -> None:
        """Set the soft limits (within the hard ones); None leaves that side open."""
        try:
            low, high = check_soft_limits(self.spec, low, high)
        except LabkitError as error:
            raise self._named(error) from None
        with self.hold_trait_notifications():
            self.soft_min, self.soft_max = low, high

    def set_ramp_rate(self, rate: Any) -> None:
        """Ramp at ``rate`` (the declared unit per second, or a quantity), None for none."""
        try:
            self.ramp_rate = check_ramp_rate(self.spec, rate)
        except LabkitError as error:
            raise self._named(error) from None

    def make_lock(self, current: Any = None, **request: Any) -> SettingLock:
        """The lock ``request`` asks for (see :func:`~._guards.check_lock`), checked.

        Whoever could unlock the lock in force may lock anew (a notebook cell run again): the
        new lock is checked against the limits without the old one, which it replaces.
        """
        if self.lock is not None and not self.lock.opens_with(request.get("key")):
            raise self._named(
                LockedError(
                    f"{self.spec.name} is already {self.lock.describe()}",
                    setting=self.spec.name,
                    hint="Unlock it first",
                )
            )
        unlocked = bounds_in_force(self.spec, self.soft_min, self.soft_max, None)
        try:
            return check_lock(self.spec, bounds=unlocked, current=current, **request)
        except LabkitError as error:
            raise self._named(error) from None

    def unlock(self, key: str | None) -> None:
        if self.lock is None:
            return
        if not self.lock.opens_with(key):
            raise LockedError(
                f"wrong key to unlock {self.spec.name}",
                instrument=self.owner,
                setting=self.spec.name,
                hint="Ask the instructor who locked it",
            )
        self.lock = None

    def add_interlock(self, interlock: Interlock) -> None:
        self.interlocks.append(interlock)

    def remove_interlock(self, interlock: Interlock) -> None:
        if interlock in self.interlocks:
            self.interlocks.remove(interlock)

    def _named(self, error: LabkitError) -> LabkitError:
        if error.instrument is None:
            error.instrument = self.owner
        if error.setting is None:
            error.setting = self.spec.name
        return error

    # -- what the set path asks and flags, every set: cheap when nobody observes ------------

    @property
    def ramping(self) -> bool:
        """Sets move gradually (a ramp rate is in force on a float setting)."""
        return self._trait_values.get("ramp_rate") is not None and self.spec.kind == "float"

    @property
    def one_write(self) -> bool:
        """A set is one write (no ramp, no settling wait): nothing to cancel, it may run
        inline."""
        return not self.spec.delay and not self.ramping

    def flag(self, name: str, value: Any) -> None:
        """Set ``busy``/``error``: through traitlets only when someone observes."""
        notifiers = self._trait_notifiers
        if name in notifiers or All in notifiers:
            setattr(self, name, value)
        else:
            self._trait_values[name] = value

    def succeeded(self) -> None:
        """The last change worked: forget the error of a previous one."""
        if self._trait_values.get("error"):
            self.flag("error", "")
