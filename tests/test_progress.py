"""Progress reporting: the base class keeps and shows nothing whatever it is told; the Recorder
keeps totals, done counts, details and messages, from any number of threads."""

from __future__ import annotations

import threading

from reviewtool.progress import ANALYSE, APPLY, BUILD, NOTHING, Progress, Recorded, Recorder
from reviewtool.review import AuditOptions


def test_the_tasks_are_distinct_names() -> None:
    assert len({APPLY, ANALYSE, BUILD}) == 3


def test_progress_accepts_every_call_and_keeps_nothing() -> None:
    progress = Progress()
    progress.start(APPLY, "patches applied", 3)
    progress.start(APPLY, "patches applied", 3)
    progress.advance(APPLY, "patch 1: ok")
    progress.advance("a task never started")
    progress.message("building patch 1 on 2 architectures")
    assert vars(progress) == {}


def test_nothing_is_the_engines_default() -> None:
    assert type(NOTHING) is Progress
    assert AuditOptions().progress is NOTHING
    NOTHING.advance(BUILD, "patch 0 on arm64")
    assert vars(NOTHING) == {}


def test_recorder_adds_the_totals_of_each_start() -> None:
    recorder = Recorder()
    recorder.start(BUILD, "build cells", 4)
    recorder.start(BUILD, "build cells, again", 4)  # the first label stays
    recorder.start(APPLY, "patches applied", 3)
    assert recorder.tasks == {
        BUILD: Recorded("build cells", total=8),
        APPLY: Recorded("patches applied", total=3),
    }


def test_recorder_counts_each_step_with_its_detail_in_order() -> None:
    recorder = Recorder()
    recorder.start(APPLY, "patches applied", 3)
    for number in (1, 2, 3):
        recorder.advance(APPLY, f"patch {number}: ok")
    recorder.advance(APPLY)
    applied = recorder.tasks[APPLY]
    assert (applied.total, applied.done) == (3, 4)
    assert applied.details == ["patch 1: ok", "patch 2: ok", "patch 3: ok", ""]


def test_recorder_keeps_a_step_of_a_task_never_started_under_its_own_name() -> None:
    recorder = Recorder()
    recorder.advance(ANALYSE, "base")
    assert recorder.tasks[ANALYSE] == Recorded(ANALYSE, total=0, done=1, details=["base"])


def test_recorder_keeps_the_messages_in_order() -> None:
    recorder = Recorder()
    recorder.message("applying the series")
    recorder.message("building patch 1 on 2 architectures")
    assert recorder.messages == ["applying the series", "building patch 1 on 2 architectures"]
    assert recorder.tasks == {}


def test_recorder_loses_nothing_to_concurrent_calls() -> None:
    recorder = Recorder()
    threads, steps = 8, 500
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        barrier.wait()
        recorder.start(BUILD, "build cells", steps)
        for step in range(steps):
            recorder.advance(BUILD, f"{worker}:{step}")
            recorder.advance(f"worker {worker}")
            recorder.message(f"{worker}:{step}")

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    build = recorder.tasks[BUILD]
    assert (build.total, build.done) == (threads * steps, threads * steps)
    expected = {f"{w}:{s}" for w in range(threads) for s in range(steps)}
    assert len(build.details) == threads * steps and set(build.details) == expected
    assert sorted(recorder.messages) == sorted(expected)
    for worker in range(threads):
        assert recorder.tasks[f"worker {worker}"].done == steps
    # Each thread's own steps stay in its order.
    mine = [d for d in build.details if d.startswith("3:")]
    assert mine == [f"3:{s}" for s in range(steps)]
