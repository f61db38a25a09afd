"""Timing, machine description and report printing shared by the benchmark parts."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def min_times(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best wall time of each callable over ``repeat`` rounds. The callables run round-robin, so that load from
    other processes, if any, falls on all of them alike; the minimum is the least disturbed run."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def per_step(fns: dict[str, Callable[[int], object]], n1: int, n2: int, repeat: int) -> dict[str, float]:
    """Seconds per step of each ``fn(steps)``: (T(n2) - T(n1)) / (n2 - n1), which cancels the fixed cost of a
    call (set-up, checkpoints, thread start); T is the best of ``repeat`` round-robin runs."""
    calls = {}
    for name, fn in fns.items():
        calls[(name, n1)] = lambda fn=fn: fn(n1)
        calls[(name, n2)] = lambda fn=fn: fn(n2)
    t = min_times(calls, repeat)
    return {name: max(t[(name, n2)] - t[(name, n1)], 1e-12) / (n2 - n1) for name in fns}


def split_run(fn: Callable[[int, int], object], R: int, threads: int) -> None:
    """``fn(lo, hi)`` on ``threads`` contiguous chunks of range(R) at once (the kernel's split)."""
    if threads == 1:
        fn(0, R)
        return
    edges = [R * i // threads for i in range(threads + 1)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(fn, edges[i], edges[i + 1]) for i in range(threads)]:
            f.result()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    import numpy as np
    import scipy
    from threadpoolctl import threadpool_info

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    lines = [f"cpu          {cpu_model()}",
             f"cores        {os.cpu_count()} online, {usable} usable by this process",
             f"python       {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}"]
    for info in threadpool_info():
        lines.append(f"{info.get('user_api', '?'):<12} {info.get('internal_api', '?')} {info.get('version', '')} "
                     f"({info.get('architecture', '?')}, {info.get('threading_layer', '?')}, "
                     f"{info.get('num_threads', '?')} threads by default; pinned to 1 here)")
    return lines


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        return "load average unknown"


class Report:
    """Prints as it goes: sections, aligned ``label  value`` rows and ratios; ``key`` rows are also collected
    for the performance table of docs/performance.md (``performance_table``)."""

    def __init__(self, width: int = 76, label: int = 58):
        self.width, self.label = width, label
        self.keys: list[tuple[str, str, str]] = []  # (part, measure, result)

    def key(self, part: str, measure: str, result: str) -> None:
        """A headline figure of ``part`` for the performance table (printed too)."""
        self.keys.append((part, measure, result))
        print(f"   >> {measure}: {result}", flush=True)

    def section(self, title: str) -> None:
        print(f"\n== {title} " + "=" * max(3, self.width - len(title) - 4), flush=True)

    def note(self, text: str) -> None:
        print(f"   {text}", flush=True)

    def row(self, label: str, value: str) -> None:
        print(f"   {label:<{self.label}} {value}", flush=True)

    def ratio(self, label: str, value: float) -> None:
        self.row(label, f"{value:8.2f} x" if value < 1000 else f"{value:8.3g} x")


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:8.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} us"


TABLE_START, TABLE_END = "<!-- bench:start -->", "<!-- bench:end -->"
PERFORMANCE_PAGE = "docs/performance.md"


def performance_table(path, keys: list[tuple[str, str, str]], parts: list[str], when: str) -> None:
    """Rewrite the table between TABLE_START and TABLE_END of ``path`` (docs/performance.md): rows of the parts
    just run come from ``keys`` (stamped ``when``: the command, date and load); rows of other parts are kept."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        raise SystemExit(f"{path}: no {TABLE_START} ... {TABLE_END} block to regenerate")
    head, rest = text.split(TABLE_START, 1)
    old_block, tail = rest.split(TABLE_END, 1)
    kept = [ln for ln in old_block.strip().splitlines()[2:]
            if ln.startswith("| ") and ln.split("|")[1].strip() not in parts]
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731 (a pipe would end the table cell)
    new = [f"| {part} | {cell(measure)} | {cell(result)} | {when} |" for part, measure, result in keys]
    order = {p: i for i, p in enumerate(("kernel", "flow", "long", "resources", "separability", "pipeline"))}
    rows = sorted(kept + new, key=lambda ln: order.get(ln.split("|")[1].strip(), 99))
    table = ["| part | measure | result | measured |", "|---|---|---|---|", *rows]
    path.write_text(head + TABLE_START + "\n" + "\n".join(table) + "\n" + TABLE_END + tail)
