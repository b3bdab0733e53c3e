"""A p4p client context whose monitors never lose their first wake-up.

p4p's threaded ``Context.monitor`` starts the network subscription and only then stores it in
the ``Subscription`` it returns. On a fast link (a server on the same machine, a busy CPU) the
first update can arrive in between: p4p's ``Subscription._event`` then finds no subscription,
logs "Lost Subscription update" and drops the wake-up. PVXS wakes a monitor only when its
queue goes from empty to not empty, so that queue is never drained again and the monitor
stays silent for good (seen in CI: a served reading that never updated). Here an early
wake-up is remembered under a lock and replayed once the subscription is stored.

This leans on p4p's private ``_S``/``_Q``/``_handle``, checked against p4p 4.1–4.2; the
test ``tests/remote/test_subscribe.py`` replays the race and fails if that changes.
"""

from __future__ import annotations

import threading
from typing import Any

from p4p.client import raw
from p4p.client.thread import Context, Subscription

__all__ = ["SafeStartContext"]


class _SafeStartSubscription(Subscription):
    """A subscription that remembers a wake-up arriving before it was stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._start_lock = threading.Lock()
        self._stored = False
        self._missed = False
        super().__init__(*args, **kwargs)

    def _event(self) -> None:
        with self._start_lock:
            if not self._stored:
                self._missed = True
                return
        super()._event()

    def store(self, channel: Any) -> None:
        """Keep the network subscription; replay a wake-up that came before it."""
        with self._start_lock:
            self._S = channel
            self._stored = True
            missed = self._missed
        if missed:
            self._Q.push(self._handle)


class SafeStartContext(Context):
    """p4p's threaded client context, its monitors started without the lost-wake-up race."""

    def monitor(
        self,
        name: str,
        cb: Any,
        request: Any = None,
        notify_disconnect: bool = False,
        queue: Any = None,
    ) -> Any:
        subscription = _SafeStartSubscription(
            self, name, cb, notify_disconnect=notify_disconnect, queue=queue
        )
        handler = subscription._event  # noqa: SLF001  # p4p's own wake-up hook
        subscription.store(raw.Context.monitor(self, name, handler, request))
        return subscription
