"""The backpressure of live views: coalescing, throttling, acknowledgements, closed pages.

Driven on a clock the test moves (``ManualScheduler``), so "at most 25 renders a second" is
checked exactly, without timing anything.
"""

from __future__ import annotations

import logging
import threading

import pytest

from labkit.ui import LiveChannel, Scheduler
from labkit.ui._live import MAX_PROBE_INTERVAL, PROBE_INTERVAL
from tests.ui.live_helpers import ManualScheduler, Page


class Source:
    """Data that changes; the render sends whatever is newest."""

    def __init__(self) -> None:
        self.value = 0
        self.shown: list[int] = []

    def render(self) -> bool:
        self.shown.append(self.value)
        return True


def channel_for(source: Source, scheduler: ManualScheduler, **options) -> LiveChannel:
    return LiveChannel(source.render, scheduler=scheduler, **options)


def test_a_burst_of_changes_costs_one_render_showing_the_newest_data():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25)
    Page(channel)
    for value in range(1, 1001):
        source.value = value
        channel.touch()
    scheduler.advance(0.001)
    assert source.shown == [1000]
    assert channel.skipped == 999


def test_renders_are_throttled_to_the_rate_whatever_the_data_rate():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25)
    Page(channel)

    def new_point():
        source.value += 1
        channel.touch()

    scheduler.advance(2.0, step=0.001, each=new_point)  # 1000 points a second
    assert len(source.shown) == 50  # 25 a second
    assert source.shown == sorted(source.shown)
    channel.rate = 10
    before = len(source.shown)
    scheduler.advance(2.0, step=0.001, each=new_point)
    assert len(source.shown) - before == 20


def test_the_rate_holds_when_each_render_takes_time():
    """25 a second means 25 a second, not one every 1/25 s plus the render's own time."""
    scheduler = ManualScheduler()
    shown: list[float] = []

    def slow_render() -> bool:
        shown.append(scheduler.now)
        scheduler.now += 0.003  # drawing a 1024² picture takes a few milliseconds
        return True

    channel = LiveChannel(slow_render, scheduler=scheduler, rate=25)
    Page(channel)
    scheduler.advance(2.0, step=0.001, each=channel.touch)
    assert len(shown) == 50


def test_slow_data_is_shown_at_once_not_held_for_the_interval():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25)
    Page(channel)
    for value in (1, 2, 3):
        source.value = value
        channel.touch()
        scheduler.advance(0.001)  # the first point after a quiet second goes out at once
        assert source.shown[-1] == value
        scheduler.advance(1.0)
    assert source.shown == [1, 2, 3]


def test_without_acknowledgements_only_max_in_flight_updates_are_sent():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25, max_in_flight=2)
    page = Page(channel, auto=False)

    def new_point():
        source.value += 1
        channel.touch()

    scheduler.advance(1.0, each=new_point)
    assert len(source.shown) == 2
    assert channel.in_flight == 2
    page.ack()  # the page caught up: the next render shows the newest data
    scheduler.advance(0.001)
    assert len(source.shown) == 3
    assert source.shown[-1] == source.value


def test_a_closed_page_costs_a_few_pings_and_resumes_with_the_newest_data_when_it_comes_back():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25, max_in_flight=3)
    page = Page(channel)

    def new_point():
        source.value += 1
        channel.touch()

    scheduler.advance(1.0, step=0.002, each=new_point)
    rendered = len(source.shown)
    page.auto = False  # the tab is closed: nothing acknowledges any more
    page.seen.clear()
    scheduler.advance(600.0, step=0.01, each=new_point)
    assert len(source.shown) == rendered + 3, "renders stop after max_in_flight"
    assert not channel.listening
    pings = page.seen[3:]
    assert pings == list(range(pings[0], pings[0] + len(pings)))  # bare update numbers
    assert channel.pings == len(pings)
    # Pings slow down, doubling up to a minute apart: about 14 in ten minutes, not 15 000.
    assert len(pings) <= 2 + int(600 / MAX_PROBE_INTERVAL) + 6

    page.auto = True
    page.ack()  # a page opened again: its link acknowledges the current number
    scheduler.advance(0.05, each=new_point)
    scheduler.advance(0.1)
    assert len(source.shown) > rendered + 3
    assert source.shown[-1] == source.value
    assert channel.listening


class Cell:
    """Stands in for IPython's cell events: ``running`` while a cell keeps the kernel busy."""

    def __init__(self) -> None:
        self.running = False

    def __call__(self) -> bool:
        return self.running


def test_while_a_cell_runs_and_acknowledgements_stall_updates_go_out_at_the_fallback_rate():
    scheduler, source, cell = ManualScheduler(), Source(), Cell()
    channel = channel_for(
        source, scheduler, rate=25, max_in_flight=3, fallback_rate=4, cell_running=cell
    )
    page = Page(channel, auto=False)  # acknowledgements wait behind the running cell

    def new_point():
        source.value += 1
        channel.touch()

    cell.running = True  # run.wait() in the next cell
    scheduler.advance(3.0, step=0.002, each=new_point)
    # 3 on acknowledgement credit, then 4 a second: the view keeps following the run.
    assert 3 + 4 * 3 - 2 <= len(source.shown) <= 3 + 4 * 3 + 1
    assert channel.unacknowledged_sends == len(source.shown) - 3
    assert channel.pings == 0
    last = source.value
    scheduler.advance(0.3)  # the run ended: its last point is shown within the interval
    assert source.shown[-1] == last

    cell.running = False  # the cell ended: the queued acknowledgements arrive
    page.ack()
    shown = len(source.shown)
    scheduler.advance(1.0, step=0.002, each=new_point)
    assert len(source.shown) - shown == 3, "back on acknowledgements (and none come)"


def test_a_closed_page_gets_no_fallback_updates_while_no_cell_runs():
    scheduler, source, cell = ManualScheduler(), Source(), Cell()
    channel = channel_for(source, scheduler, rate=25, max_in_flight=3, cell_running=cell)
    Page(channel, auto=False)

    def new_point():
        source.value += 1
        channel.touch()

    scheduler.advance(60.0, step=0.01, each=new_point)
    assert len(source.shown) == 3
    assert channel.unacknowledged_sends == 0


def test_nothing_is_sent_while_nothing_changes():
    scheduler, source = ManualScheduler(), Source()
    channel = channel_for(source, scheduler, rate=25)
    page = Page(channel, auto=False)
    channel.touch()
    scheduler.advance(600.0, step=0.05)
    assert len(source.shown) == 1
    assert page.seen == [1], "an idle view with a silent page sends no pings"


def test_a_polling_channel_slows_down_when_its_source_is_idle():
    scheduler = ManualScheduler()
    polls: list[float] = []

    def nothing_new() -> bool:
        polls.append(scheduler.now)
        return False

    channel = LiveChannel(nothing_new, rate=25, poll=True, scheduler=scheduler)
    channel.start()
    scheduler.advance(1.0)
    busy = len(polls)
    scheduler.advance(10.0)
    idle = len(polls) - busy
    assert busy >= 20
    assert idle <= 10.0 / 0.25 + 1


def test_a_failing_render_is_logged_and_the_channel_keeps_going(caplog):
    scheduler = ManualScheduler()
    calls = []

    def render() -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bad frame")
        return True

    channel = LiveChannel(render, rate=25, scheduler=scheduler)
    Page(channel)
    with caplog.at_level(logging.ERROR, logger="labkit.ui"):
        channel.touch()
        scheduler.advance(0.1)
    assert "rendering failed" in caplog.text
    channel.touch()
    scheduler.advance(0.1)
    assert len(calls) == 2
    assert channel.sent == 1


def test_touch_never_waits_for_a_render_in_progress():
    scheduler = Scheduler(name="test-live")
    started, release = threading.Event(), threading.Event()

    def slow_render() -> bool:
        started.set()
        release.wait(30)
        return True

    channel = LiveChannel(slow_render, rate=1000, scheduler=scheduler)
    channel.touch()
    assert started.wait(10)
    producer = threading.Thread(target=lambda: [channel.touch() for _ in range(10_000)])
    producer.start()
    producer.join(10)
    try:
        assert not producer.is_alive(), "an acquisition thread waited for the view"
    finally:
        release.set()
        channel.close()


def test_options_are_checked():
    with pytest.raises(ValueError, match="rate must be positive"):
        LiveChannel(lambda: True, rate=0, scheduler=ManualScheduler())
    with pytest.raises(ValueError, match="max_in_flight"):
        LiveChannel(lambda: True, max_in_flight=0, scheduler=ManualScheduler())
    assert PROBE_INTERVAL < MAX_PROBE_INTERVAL
