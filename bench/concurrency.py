"""Concurrency: dialogues per second through a 200 ms-latency OpenAI-compatible server, as a share of ideal.

    python bench/concurrency.py [--latency 0.2] [--levels 1,16,64,256] [--rounds 3] [--tasks 40]
    python bench/concurrency.py --backend ray --workers 2     # the dialogues on Ray actors

Both the agent and the user are `openai-compatible:` models served by the local scripted server
(`writ.testing.openai_server`), which sleeps `--latency` seconds before every answer, so each
model call is a real HTTP round trip through ChatOpenAI with realistic waiting. The server runs
in its own process (as a real provider would), the batch runner (`writ.runner.run_tasks`, with
every model behind the rate-limit/retry guard) in this one. At each concurrency level c the
runner simulates `rounds * c` dialogues (the composed tasks, cycled) and the throughput is
compared with two ideals:

- the latency ideal: c / (model calls per dialogue * latency), what c dialogues would reach if
  nothing but the server's sleep took time (the baseline named "ideal" below);
- the scaled ideal: c times the throughput measured at concurrency 1 (which also pays the
  client's and the server's CPU time per call).

The server answers a request it has seen before from memory (`memo=True`; the scripted
replies are deterministic) and a warm-up runs every task once to fill it, so during the levels
its CPU, which shares this machine's two cores with the client unlike a real provider's, stays
out of the figure; the share of requests answered from memory is printed.

Throughput is the steady state, measured while exactly c dialogues are in flight (from the 10%
completion mark until the last dialogue starts); "all" is over the whole level, tail included,
where the last few long dialogues run with fewer and fewer beside them.
The goal is >= 80% of the latency ideal at c = 64.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark this checkout's code

from writ.composer.config import ComposeConfig  # noqa: E402
from writ.dialogue_jobs import DialogueJob  # noqa: E402
from writ.graphs.composer import compose_one  # noqa: E402
from writ.runner import RunSettings, run_tasks  # noqa: E402
from writ.task import WritTask  # noqa: E402

GOAL_AT_64 = 0.80


def serve(lines: list[str], latency: float, ready: Any, stop: Any) -> None:
    """The server process: answers until told to stop, then reports how many requests it served."""
    from writ.testing.openai_server import ScriptedOpenAIServer

    tasks = [WritTask.model_validate_json(line) for line in lines]
    with ScriptedOpenAIServer(tasks, latency_s=latency, memo=True) as server:
        ready.put(server.base_url)
        stop.get()
        ready.put({**server.counts, "computed": server.counts["agent"] + server.counts["user"]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--levels", default="1,16,64,256")
    parser.add_argument("--rounds", type=int, default=3, help="dialogues per level = rounds x concurrency (at least 4)")
    parser.add_argument("--tasks", type=int, default=40, help="distinct composed tasks, cycled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("local", "ray"), default="local", help="run the dialogues here or on Ray actors")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors (with --backend ray)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    config = ComposeConfig(domain="retail", n=args.tasks, seed=args.seed)
    tasks = [t for i in range(2 * args.tasks) if isinstance(t := compose_one(config, i), WritTask)][: args.tasks]

    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Queue()
    server = context.Process(target=serve, args=([t.to_line() for t in tasks], args.latency, ready, stop), daemon=True)
    server.start()
    base_url = ready.get(timeout=120)
    spec = f"openai-compatible:scripted@{base_url}"
    job = DialogueJob(domain="retail", agent_model=spec, user_model=spec)
    os.environ.setdefault("OPENAI_API_KEY", "EMPTY")

    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # warm-up: client pool, graphs, and every task's replies into the server's memory
            asyncio.run(_run(job, tasks, 16, Path(tmp) / "warm.jsonl"))
            for c in levels:
                n = max(4, args.rounds * c)
                items = [(k, tasks[k % len(tasks)]) for k in range(n)]
                if args.backend == "ray":
                    seconds, steady, trajectories = _run_ray(job, items, c, args.workers, Path(tmp) / f"c{c}.jsonl")
                else:
                    seconds, steady, trajectories = asyncio.run(_run(job, items, c, Path(tmp) / f"c{c}.jsonl"))
                calls = statistics.mean(
                    sum(1 for m in t["messages"] if m["role"] in ("assistant", "user")) - 1 for t in trajectories
                )  # every assistant and user message but the fixed greeting is one model call
                verified = sum(t["reward"] == 1.0 for t in trajectories)
                rows.append((c, n, seconds, n / seconds, steady, calls, verified))
    finally:
        stop.put("stop")
        counts = ready.get(timeout=30)
        server.join(timeout=10)

    single = rows[0][4] if rows and rows[0][0] == 1 else None
    where = f"on {args.workers} Ray actors" if args.backend == "ray" else "in one event loop"
    memo = 1 - counts["computed"] / max(1, counts["requests"])
    print(
        f"latency {args.latency * 1000:.0f} ms per call, agent and user both over HTTP, dialogues {where}; "
        f"server served {counts['requests']} requests, {memo:.1%} from memory"
    )
    print(
        f"{'c':>5} {'dialogues':>9} {'seconds':>8} {'all/s':>7} {'steady/s':>8} {'calls/dial':>10} "
        f"{'ideal/s':>8} {'% ideal':>8} {'% ideal all':>11} {'% scaled':>9} {'verified':>8}"
    )
    result = {}
    for c, n, seconds, rate, steady, calls, verified in rows:
        ideal = c / (calls * args.latency)
        scaled = f"{100 * steady / (c * single):8.1f}%" if single else "        -"
        print(
            f"{c:>5} {n:>9} {seconds:>8.2f} {rate:>7.2f} {steady:>8.2f} {calls:>10.1f} {ideal:>8.2f} "
            f"{100 * steady / ideal:>7.1f}% {100 * rate / ideal:>10.1f}% {scaled} {verified:>8}"
        )
        result[c] = round(steady / ideal, 3)
    print(f"steady-state share of the latency ideal by concurrency: {json.dumps(result)}; goal at 64: >= {GOAL_AT_64:.0%}")
    return 0


class PairRunner:
    """`make_run_one` for Ray: runs the task of an (index, task) item (picklable, unlike a closure over the job's pools)."""

    def __init__(self, job: DialogueJob) -> None:
        self.job = job

    def __call__(self) -> Any:
        run_one = self.job.runner()

        async def one(item: tuple[int, WritTask]) -> Any:
            return await run_one(item[1])

        return one


def _steady(finished: list[float], n: int, concurrency: int, seconds: float) -> float:
    first, last = n // 10, n - concurrency
    if last - first >= 2 and first >= 1:
        return (last - first) / (finished[last - 1] - finished[first - 1])
    return n / seconds


def _run_ray(job: DialogueJob, items: list[Any], concurrency: int, workers: int, out: Path) -> tuple[float, float, list[dict[str, Any]]]:
    from writ.ray_backend import connect, run_tasks_ray

    connect(None)
    finished: list[float] = []
    settings = RunSettings(concurrency=concurrency, progress="none", timeout_s=600)
    started = time.perf_counter()
    stats = run_tasks_ray(
        items,
        PairRunner(job.with_share(1.0 / workers)),
        out,
        workers=workers,
        key=lambda it: f"{it[1].id}#{it[0]}",
        record_key="_none",
        settings=settings,
        on_record=lambda _: finished.append(time.perf_counter()),
    )
    return _result(stats, finished, len(items), concurrency, time.perf_counter() - started, out)


async def _run(job: DialogueJob, items: list[Any], concurrency: int, out: Path) -> tuple[float, float, list[dict[str, Any]]]:
    """(seconds for all, steady-state dialogues/s, the trajectories).

    Steady state: from the 10% completion mark to the moment the last dialogue starts (n - c
    completions), while exactly c dialogues are in flight; the tail after it, with fewer and
    fewer in flight, is left out.
    """
    run_one = job.runner()
    pairs = [it if isinstance(it, tuple) else (i, it) for i, it in enumerate(items)]
    finished: list[float] = []

    async def one(item: tuple[int, WritTask]) -> Any:
        return await run_one(item[1])

    settings = RunSettings(concurrency=concurrency, progress="none", timeout_s=600)
    started = time.perf_counter()
    stats = await run_tasks(
        pairs,
        one,
        out,
        key=lambda it: f"{it[1].id}#{it[0]}",
        record_key="_none",
        settings=settings,
        on_record=lambda _: finished.append(time.perf_counter()),
    )
    return _result(stats, finished, len(pairs), concurrency, time.perf_counter() - started, out)


def _result(stats: Any, finished: list[float], n: int, concurrency: int, seconds: float, out: Path) -> tuple[float, float, list[dict[str, Any]]]:
    """(seconds, steady-state dialogues/s, the trajectories) of a level; a failed dialogue ends the benchmark."""
    if stats.failed:
        raise SystemExit(f"{stats.failed} dialogues failed: {stats.errors[:3]}")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    return seconds, _steady(finished, n, concurrency, seconds), lines


if __name__ == "__main__":
    sys.exit(main())
