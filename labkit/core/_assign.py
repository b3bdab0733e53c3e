"""How a value becomes an acknowledged setting: check, interlocks, write or ramp, store.

Everything that can refuse a value runs before the first byte goes out: type, unit, choices,
locks, limits, then interlocks (which may read other instruments). The write runs on the
instrument's worker; the trait is stored only after the instrument took it (and, for SCPI,
its error queue stayed empty), so observers never see a value the hardware refused.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as WaitTimeout
from typing import TYPE_CHECKING, Any

from labkit.core._errors import (
    AccessError,
    ConfigurationError,
    InstrumentError,
    LabkitError,
    LimitError,
    LockedError,
    RampInterrupted,
)
from labkit.core._spec import TraitSpec
from labkit.core._state import SettingState
from labkit.core._units import format_quantity

if TYPE_CHECKING:
    pass

__all__ = ["AssignMixin"]

_LIMIT_TOLERANCE = 1e-12
_NEVER_CANCELLED = threading.Event()  # for sets that are one write: there is nothing to stop
_RAMP_UPDATES_PER_SECOND = 10.0


class AssignMixin:
    """The setting half of :class:`~labkit.core.Instrument` (kept apart to stay readable)."""

    def _prepare(self, spec: TraitSpec, value: Any) -> Any:
        """Everything that can refuse a value without talking to any instrument."""
        context = {"instrument": self.name, "setting": spec.name}
        if spec.role != "setting":
            raise AccessError(
                f"{spec.name} is a {spec.role} and cannot be set",
                value=value,
                hint=f"Read it with {self.name}.read({spec.name!r})"
                if spec.role == "reading"
                else f"Call {self.name}.{spec.name}()",
                **context,
            )
        if not self._can_write(spec):
            raise AccessError(
                f"{spec.name} is read-only",
                value=value,
                hint="Its value follows the instrument's other settings",
                **context,
            )
        try:
            value = spec.coerce(value, where=spec.name)
        except LabkitError as error:
            raise self._attach(error, spec) from None
        state = self._states[spec.name]
        lock = state.lock
        if lock is not None and lock.locks_value and value != lock.value:
            raise LockedError(
                f"{format_quantity(value, spec.unit)} refused: the setting is {lock.describe()}",
                value=value,
                limit=lock.value,
                hint="Ask your instructor to unlock it (handle.unlock(key))",
                **context,
            )
        if spec.numeric:
            value = self._check_range(spec, state, value, context)
        return value

    def _check_range(
        self, spec: TraitSpec, state: SettingState, value: Any, context: dict[str, Any]
    ) -> Any:
        lower, upper = state.bounds(spec)
        if lower.value <= value <= upper.value:
            return value
        span = _describe_range(lower.value, upper.value, spec.unit)
        if value < lower.value:
            if math.isclose(value, lower.value, rel_tol=_LIMIT_TOLERANCE, abs_tol=1e-300):
                return type(value)(lower.value)
            raise LimitError(
                f"{format_quantity(value, spec.unit)} is below the lower {lower.source} "
                f"{format_quantity(lower.value, spec.unit)}",
                value=value,
                limit=lower.value,
                hint=f"Choose a value {span}" + _limit_advice(lower.source),
                **context,
            )
        if value > upper.value:
            if math.isclose(value, upper.value, rel_tol=_LIMIT_TOLERANCE, abs_tol=1e-300):
                return type(value)(upper.value)
            raise LimitError(
                f"{format_quantity(value, spec.unit)} is above the upper {upper.source} "
                f"{format_quantity(upper.value, spec.unit)}",
                value=value,
                limit=upper.value,
                hint=f"Choose a value {span}" + _limit_advice(upper.source),
                **context,
            )
        return value

    def _check_interlocks(self, spec: TraitSpec, value: Any) -> None:
        for interlock in self._interlocks.get(spec.name, ()):
            interlock.enforce(value)

    async def _check_interlocks_async(self, spec: TraitSpec, value: Any) -> None:
        for interlock in self._interlocks.get(spec.name, ()):
            await interlock.enforce_async(value)

    # ------------------------------------------------------------------ internals: setting

    def _assign(self, spec: TraitSpec, raw: Any) -> Any:
        """The blocking face: check, write on the worker, wait for the acknowledgement."""
        try:
            value = self._prepare(spec, raw)
            self._require_connected()
            self._check_interlocks(spec, value)
        except LabkitError as error:
            self._note_error(spec, error)
            raise
        if self._single_exchange(spec):  # nothing to cancel: one write
            return self._worker.call(self._do_set, spec, value, _NEVER_CANCELLED, quick=True)
        cancel = threading.Event()
        if self._worker.on_worker():
            return self._do_set(spec, value, cancel)
        self._ramp_cancels.add(cancel)
        future = self._worker.submit(self._do_set, spec, value, cancel)
        try:
            return _wait(future)
        except KeyboardInterrupt:
            cancel.set()
            return future.result()  # raises RampInterrupted (or finishes a write already sent)
        finally:
            self._ramp_cancels.discard(cancel)

    async def _assign_async(self, spec: TraitSpec, raw: Any) -> Any:
        """The async face for the run engine; cancelling stops a ramp where it is."""
        try:
            value = self._prepare(spec, raw)
            self._require_connected()
            await self._check_interlocks_async(spec, value)
        except LabkitError as error:
            self._note_error(spec, error)
            raise
        if self._single_exchange(spec):
            return await self._worker.call_async(
                self._do_set, spec, value, _NEVER_CANCELLED, quick=True
            )
        cancel = threading.Event()
        self._ramp_cancels.add(cancel)
        acknowledged = asyncio.wrap_future(self._worker.submit(self._do_set, spec, value, cancel))
        try:
            return await asyncio.shield(acknowledged)
        except asyncio.CancelledError:
            cancel.set()  # stop a ramp where it is, then let the cancellation through
            try:
                await acknowledged
            except LabkitError:
                pass
            raise
        finally:
            self._ramp_cancels.discard(cancel)

    def _submit_assign(self, spec: TraitSpec, raw: Any) -> Future[Any]:
        """Check now (raising at once), then write in the background: for panels."""
        try:
            value = self._prepare(spec, raw)
            self._require_connected()
            self._check_interlocks(spec, value)
        except LabkitError as error:
            self._note_error(spec, error)
            raise
        cancel = threading.Event()
        self._ramp_cancels.add(cancel)
        future = self._worker.submit(self._do_set, spec, value, cancel)
        future.add_done_callback(lambda _: self._ramp_cancels.discard(cancel))
        return future

    def _note_error(self, spec: TraitSpec, error: BaseException) -> None:
        state = self._states.get(spec.name)
        if state is not None:
            state.error = str(error)

    def _single_exchange(self, spec: TraitSpec) -> bool:
        """A set that is one write (no ramp, no settling wait): it may run inline."""
        return not spec.delay and (
            self._states[spec.name].ramp_rate is None or spec.kind != "float"
        )

    def _do_set(self, spec: TraitSpec, value: Any, cancel: threading.Event) -> Any:
        """On the worker: write (or ramp), then store the acknowledged value."""
        state = self._states[spec.name]
        if self._worker.running_inline():
            return self._set_instantly(spec, state, value)
        state.busy = True
        self._enter_busy()
        try:
            if state.ramp_rate is not None and spec.kind == "float":
                self._ramp(spec, state.ramp_rate, value, cancel)
            else:
                value = self._write_value(spec, value)
                self._trait(spec).store(self, value)
            if spec.delay:
                time.sleep(spec.delay)
            if state.error:
                state.error = ""
            return value
        except LabkitError as error:
            self._attach(error, spec)
            state.error = str(error)
            raise
        finally:
            state.busy = False
            self._leave_busy()

    def _set_instantly(self, spec: TraitSpec, state: SettingState, value: Any) -> Any:
        # The same as below without the busy flags, which nobody could ever see set.
        try:
            value = self._write_value(spec, value)
        except LabkitError as error:
            self._attach(error, spec)
            state.error = str(error)
            raise
        self._trait(spec).store(self, value)
        if state.error:
            state.error = ""
        return value

    def _write_value(self, spec: TraitSpec, value: Any) -> Any:
        """Write ``value``; returns the value the instrument was actually given.

        A template formats the value (``fmt``), so the instrument receives the formatted token:
        that, parsed back, is what gets stored. A setter method may return the value it really
        sent (rounded to the instrument's resolution); None means ``value`` itself.
        """
        setter = self._setter(spec)
        if isinstance(setter, str):
            command = spec.command(value, self)
            self._io("write", command)
            self._after_set(spec, command)
            return spec.sent_value(value)
        sent = setter(self, value)
        self._after_set(spec, None)
        return value if sent is None else sent

    def _ramp(self, spec: TraitSpec, rate: float, target: float, cancel: threading.Event) -> None:
        trait = self._trait(spec)
        start = self._trait_values.get(spec.name)
        if start is None:
            if not self._can_read(spec):
                raise ConfigurationError(
                    f"cannot ramp to {format_quantity(target, spec.unit)}: the present value is "
                    "unknown and cannot be read",
                    instrument=self.name,
                    setting=spec.name,
                    hint="Set the ramp rate to None for one direct set, or set a known value first",
                )
            start = self._read_value(spec)
            trait.store(self, start)
        distance = target - start
        if distance == 0:
            trait.store(self, self._write_value(spec, target))
            return
        largest_step = self._ramp_step(spec, rate)
        steps = max(1, math.ceil(abs(distance) / largest_step - 1e-9))
        pause = abs(distance) / rate / steps
        reached = start
        for index in range(1, steps + 1):
            point = target if index == steps else start + distance * index / steps
            try:
                point = self._write_value(spec, point)
            except LabkitError as error:
                raise self._ramp_error(spec, reached, target, str(error), error) from error
            reached = point
            trait.store(self, point)
            if index < steps and cancel.wait(pause):
                raise self._ramp_error(spec, reached, target, "it was stopped", None)
        if cancel.is_set():
            cancel.clear()

    def _ramp_step(self, spec: TraitSpec, rate: float) -> float:
        if spec.ramp_step is not None:
            return spec.ramp_step
        return rate / _RAMP_UPDATES_PER_SECOND

    def _ramp_error(
        self, spec: TraitSpec, reached: float, target: float, why: str, cause: LabkitError | None
    ) -> RampInterrupted:
        details: dict[str, Any] = {}
        if isinstance(cause, InstrumentError):
            details = {"resource": cause.resource, "command": cause.command, "code": cause.code}
        return RampInterrupted(
            f"ramp to {format_quantity(target, spec.unit)} stopped at "
            f"{format_quantity(reached, spec.unit)} because {why}",
            reached=reached,
            target=target,
            instrument=self.name,
            setting=spec.name,
            hint=f"The output is at {format_quantity(reached, spec.unit)}; set it again to continue",
            **details,
        )

    def _enter_busy(self) -> None:
        with self._busy_lock:
            self._busy_count += 1
            if self._busy_count == 1:
                self.busy = True

    def _leave_busy(self) -> None:
        with self._busy_lock:
            self._busy_count -= 1
            if self._busy_count == 0:
                self.busy = False


def _describe_range(low: float, high: float, unit: str | None) -> str:
    """``in 0 V … 30 V``, ``≥ 0 A`` or ``≤ 5 V``: the range in force, as people say it."""
    if math.isinf(low):
        return f"≤ {format_quantity(high, unit)}"
    if math.isinf(high):
        return f"≥ {format_quantity(low, unit)}"
    return f"in {format_quantity(low, unit)} … {format_quantity(high, unit)}"


def _limit_advice(source: str) -> str:
    if source == "soft limit":
        return "; widen the soft limits with handle.limit(...) if you need more"
    if source == "locked limit":
        return "; the limit was locked by an instructor"
    return ""


def _wait(future: Future[Any]) -> Any:
    # Waiting in short slices keeps Ctrl-C / the notebook's interrupt button responsive.
    while True:
        try:
            return future.result(timeout=0.1)
        except WaitTimeout:
            if future.done():
                raise  # not the wait: the operation itself raised a TimeoutError
            continue
