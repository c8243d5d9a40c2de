"""The benchmark's profile summary: frames labelled repo- or library-relative, idle samples left out of the shares."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from deploy import profiles
from deploy.profiles import FrameShare, ProfileSettings, parse_frame, summarise

REPO = Path("/repo")
WORKER = "<module> (/repo/services/analytics/analytics/worker.py:38);main (/repo/shared/worker.py:156)"
LOOP = "BaseEventLoop.run_forever (/opt/py/lib/python3.11/asyncio/base_events.py:607)"
CONSUMER = "EventConsumer.run (/repo/shared/consumer.py:103)"
SESSION = "Session.execute (/repo/.venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py:2555)"
VALIDATE = "TypeAdapter.validate_json (/repo/.venv/lib/python3.11/site-packages/pydantic/type_adapter.py:466)"

# busy: 6 + 2 + 2 + 1 = 11 samples; idle: 10 (epoll) + 3 (thread-pool queue) + 1 (condition) = 14.
COLLAPSED = f"""\
{WORKER};{LOOP};{CONSUMER};record_fact (/repo/services/analytics/analytics/service.py:22);{SESSION} 6
{WORKER};{LOOP};{CONSUMER};record_fact (/repo/services/analytics/analytics/service.py:30) 2
{WORKER};{LOOP};BaseEventLoop._run_once (/opt/py/lib/python3.11/asyncio/base_events.py:1922);\
EpollSelector.select (/opt/py/lib/python3.11/selectors.py:468) 10
{WORKER};{CONSUMER};EventConsumer.run (/repo/shared/consumer.py:120);{VALIDATE} 2
_bootstrap (/opt/py/lib/python3.11/threading.py:995);_worker (/opt/py/lib/python3.11/concurrent/futures/thread.py:81) 3
_bootstrap (/opt/py/lib/python3.11/threading.py:995);Condition.wait (/opt/py/lib/python3.11/threading.py:327) 1
 1
not a sample line
"""


@pytest.mark.parametrize(
    ("raw", "label", "project"),
    [
        (
            "record_fact (/repo/services/analytics/analytics/service.py:22)",
            "record_fact (services/analytics/analytics/service.py)",
            True,
        ),
        ("main (/repo/shared/worker.py:156)", "main (shared/worker.py)", True),
        (SESSION, "Session.execute (sqlalchemy/orm/session.py)", False),
        ("run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py:190)", "run (asyncio/runners.py)", False),
        ("_run_code (<frozen runpy>:88)", "_run_code (<frozen runpy>)", False),
        ("main (/repo/deploy/bench.py:10)", "main (deploy/bench.py)", False),
    ],
)
def test_frames_lose_their_line_and_only_services_and_shared_are_project_code(
    raw: str, label: str, project: bool
) -> None:
    frame = parse_frame(raw, REPO)
    assert frame.label == label
    assert frame.project is project


def test_waiting_in_epoll_a_thread_pool_queue_or_a_condition_is_idle_and_out_of_the_shares() -> None:
    summary = summarise(COLLAPSED, repo=REPO)
    assert summary.busy_samples == 11
    assert summary.idle_samples == 14


def test_inclusive_shares_count_a_recursive_frame_once_and_leave_module_bodies_out() -> None:
    summary = summarise(COLLAPSED, repo=REPO)
    # main and EventConsumer.run are on 6 + 2 + 2 = 10 of 11 busy stacks (the recursive run counted once);
    # record_fact on 6 + 2 = 8 (two lines of it merge into one frame).
    assert summary.inclusive == [
        FrameShare("EventConsumer.run (shared/consumer.py)", 0.909),
        FrameShare("main (shared/worker.py)", 0.909),
        FrameShare("record_fact (services/analytics/analytics/service.py)", 0.727),
    ]


def test_self_shares_name_the_innermost_frame_of_any_code() -> None:
    summary = summarise(COLLAPSED, repo=REPO)
    assert summary.self_time == [
        FrameShare("Session.execute (sqlalchemy/orm/session.py)", 0.545),
        FrameShare("TypeAdapter.validate_json (pydantic/type_adapter.py)", 0.182),
        FrameShare("record_fact (services/analytics/analytics/service.py)", 0.182),
        FrameShare("(no Python frame)", 0.091),
    ]


def test_deepest_project_frame_carries_the_library_time_below_it() -> None:
    summary = summarise(COLLAPSED, repo=REPO)
    assert summary.deepest_project == [
        FrameShare("record_fact (services/analytics/analytics/service.py)", 0.727),
        FrameShare("EventConsumer.run (shared/consumer.py)", 0.182),
    ]


def test_top_lists_are_cut_to_the_configured_length() -> None:
    summary = summarise(COLLAPSED, ProfileSettings(top_inclusive=1, top_self=2), repo=REPO)
    assert [share.frame for share in summary.inclusive] == ["EventConsumer.run (shared/consumer.py)"]
    assert len(summary.self_time) == 2
    assert len(summary.deepest_project) == 2


def test_a_profile_of_an_idle_process_has_no_shares() -> None:
    summary = summarise(f"{WORKER};EpollSelector.select (/opt/py/lib/python3.11/selectors.py:468) 40\n", repo=REPO)
    assert (summary.busy_samples, summary.idle_samples) == (0, 40)
    assert summary.inclusive == summary.self_time == summary.deepest_project == []


def test_the_c_event_loop_of_uvloop_is_idle_but_library_work_it_runs_is_busy() -> None:
    loop = "main (/repo/shared/worker.py:156);run (/repo/.venv/lib/python3.11/site-packages/uvloop/__init__.py:105)"
    runner = f"{loop};Runner.run (/opt/py/lib/python3.11/asyncio/runners.py:118)"
    text = f"{runner} 7\n{runner};StreamWriter.write (/opt/py/lib/python3.11/asyncio/streams.py:325) 3\n{loop} 2\n"
    summary = summarise(text, repo=REPO)
    assert (summary.busy_samples, summary.idle_samples) == (3, 9)
    assert summary.self_time == [FrameShare("StreamWriter.write (asyncio/streams.py)", 1.0)]
    assert summary.deepest_project == [FrameShare("main (shared/worker.py)", 1.0)]


def test_without_py_spy_the_run_goes_on_and_the_profile_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(profiles, "py_spy", lambda: None)

    async def window() -> dict[str, Any]:
        recorder = profiles.ProfileRecorder(ProfileSettings(delay_seconds=0), {"coding-worker": 1}, tmp_path)
        recorder.start()
        return await recorder.stop()

    section = asyncio.run(window())
    assert section["status"] == "unavailable"
    assert "py-spy not found" in section["reason"]
    assert not any(tmp_path.iterdir())


def test_a_run_that_ends_before_the_window_opens_has_no_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(profiles, "py_spy", lambda: Path("/bin/false"))  # never started: the window stays closed

    async def window() -> dict[str, Any]:
        recorder = profiles.ProfileRecorder(ProfileSettings(delay_seconds=60), {"coding-worker": 1}, tmp_path)
        recorder.start()
        return await recorder.stop()

    section = asyncio.run(window())
    assert section["status"] == "not recorded"
    assert "ended before the profile window" in section["reason"]
