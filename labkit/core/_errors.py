"""The typed errors every part of labkit raises.

Each error carries the context a scientist needs to act on it — which instrument, which setting,
which value, which limit, which command — as attributes, and composes one message from them
that ends with what to do. Code can catch the class; people read the message.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessError",
    "ChoiceError",
    "ConfigurationError",
    "ConnectionLost",
    "DeclarationError",
    "FrameFormatError",
    "InstrumentError",
    "InstrumentTimeout",
    "InterlockError",
    "LabkitError",
    "LimitError",
    "LockedError",
    "MissingVendorLibrary",
    "NotConnectedError",
    "PluginError",
    "RampInterrupted",
    "ReplyError",
    "RunWaitTimeout",
    "SettingTypeError",
    "UnitError",
    "UnknownSettingError",
    "ValidationError",
]


_LONGEST = 2000  # characters of an error's message


class LabkitError(Exception):
    """Base of every error labkit raises on purpose.

    ``instrument`` and ``setting`` name where it happened, ``hint`` says what to do. They are
    filled in as the error travels up: a transport knows the resource and the command, the
    instrument adds its own name.
    """

    def __init__(
        self,
        message: str,
        *,
        instrument: str | None = None,
        setting: str | None = None,
        hint: str | None = None,
    ) -> None:
        if len(message) > _LONGEST:  # a value quoted whole must never flood a notebook
            message = f"{message[: _LONGEST - 40]}… ({len(message):,} characters in all)"
        self.message = message
        self.instrument = instrument
        self.setting = setting
        self.hint = hint
        super().__init__(message)

    @property
    def where(self) -> str:
        """``"smu.voltage"``, ``"smu"`` or ``""``: the place the error is about."""
        if self.instrument and self.setting:
            return f"{self.instrument}.{self.setting}"
        return self.instrument or self.setting or ""

    def __str__(self) -> str:
        text = self.message
        where = self.where
        if where and not text.startswith(where):
            text = f"{where}: {text}"
        if self.hint:
            text = f"{text}. {self.hint}" if not text.endswith(".") else f"{text} {self.hint}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (dask, notebooks executed by nbclient): keep the context.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[LabkitError], message: str, state: dict[str, Any]) -> LabkitError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigurationError(LabkitError):
    """Something labkit was told to build cannot work: a declaration, a station file, a name clash."""


class DeclarationError(ConfigurationError, TypeError):
    """An instrument class declares a setting that cannot work (min above max, unknown unit...)."""


class UnknownSettingError(ConfigurationError, AttributeError):
    """A value was given to a setting the instrument does not have (a typo, or a feature this
    camera lacks): refused before anything is sent, naming what it does have."""


class ValidationError(LabkitError, ValueError):
    """A value was refused before any byte reached the instrument.

    ``value`` is what was asked for, ``limit`` the bound or the allowed set it broke.
    """

    def __init__(
        self,
        message: str,
        *,
        value: Any = None,
        limit: Any = None,
        **context: Any,
    ) -> None:
        self.value = value
        self.limit = limit
        super().__init__(message, **context)


class LimitError(ValidationError):
    """A value lies outside the hard limits, the soft limits or a locked range."""


class UnitError(ValidationError):
    """A quantity has the wrong dimension for the setting ("5 A" for a voltage) or cannot be parsed."""


class ChoiceError(ValidationError):
    """A value is not among a setting's choices."""


class SettingTypeError(ValidationError, TypeError):
    """A value of the wrong type (text for a number, a number for a switch...)."""


class AccessError(ValidationError):
    """A reading was assigned, a write-only setting read, or a read-only setting written."""


class LockedError(ValidationError):
    """An instructor locked this setting's value or limits."""


class InterlockError(LabkitError):
    """An interlock condition over other instruments does not hold, so the setting may not change."""

    def __init__(self, message: str, *, condition: str | None = None, **context: Any) -> None:
        self.condition = condition
        super().__init__(message, **context)


class NotConnectedError(LabkitError):
    """The instrument is closed; open it (``inst.open()``) before using it."""


class InstrumentError(LabkitError):
    """The instrument or the link to it failed.

    ``resource`` is the address, ``command`` the command being sent when it failed, ``code`` the
    instrument's own error code where it has one (a SCPI error number, a PVCAM error code).
    """

    def __init__(
        self,
        message: str,
        *,
        resource: str | None = None,
        command: str | None = None,
        code: int | None = None,
        **context: Any,
    ) -> None:
        self.resource = resource
        self.command = command
        self.code = code
        super().__init__(message, **context)

    def __str__(self) -> str:
        text = super().__str__()
        details = []
        if self.command is not None and repr(self.command) not in text:
            details.append(f"command {self.command!r}")
        if self.resource and self.resource not in text:
            details.append(f"resource {self.resource}")
        if details:
            text = f"{text} [{', '.join(details)}]"
        return text


class InstrumentTimeout(InstrumentError):
    """No complete reply arrived within the instrument's timeout.

    Deliberately *not* a built-in ``TimeoutError``: a run that fails with it raises it from
    ``run.wait()``, where ``TimeoutError`` means "the wait ended, the run is still going"
    (:class:`RunWaitTimeout`). Catch it by name (``except labkit.InstrumentTimeout``).
    """


class ConnectionLost(InstrumentError, ConnectionError):
    """The link to the instrument dropped; ``inst.reconnect()`` tries again."""


class ReplyError(InstrumentError):
    """The instrument answered something that does not parse as what was expected."""

    def __init__(self, message: str, *, reply: Any = None, **context: Any) -> None:
        self.reply = reply
        super().__init__(message, **context)


class RampInterrupted(InstrumentError):
    """A ramp stopped before its target; ``reached`` is the last value the instrument acknowledged."""

    def __init__(self, message: str, *, reached: Any = None, target: Any = None, **context: Any):
        self.reached = reached
        self.target = target
        super().__init__(message, **context)


class RunWaitTimeout(LabkitError, TimeoutError):
    """``run.wait(timeout)`` (or ``run.abort(timeout=...)``) returned before the run ended.

    The run goes on: nothing failed. A ``TimeoutError``, as ``Future.result(timeout)`` raises,
    so ``except TimeoutError`` around a wait keeps meaning "still running"; a run that *failed*
    raises its own error instead (an :class:`InstrumentTimeout` is not a ``TimeoutError``).
    ``run_id`` and ``status`` say which run and what it was doing.
    """

    def __init__(
        self, message: str, *, run_id: str | None = None, status: str | None = None, **context: Any
    ) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(message, **context)


class PluginError(LabkitError):
    """A plugin could not be found, imported or used."""


class MissingVendorLibrary(PluginError, OSError):
    """A vendor's C library (libpvcam, a GenTL producer...) is not installed where labkit looked."""

    def __init__(self, message: str, *, searched: list[str] | None = None, **context: Any):
        self.searched = list(searched or [])
        super().__init__(message, **context)


class FrameFormatError(LabkitError, ValueError):
    """A camera frame buffer is malformed; ``offset`` is the byte where decoding gave up."""

    def __init__(self, message: str, *, offset: int | None = None, **context: Any) -> None:
        self.offset = offset
        super().__init__(message, **context)
