"""
cio_async side by side with what users would pick instead, on one machine.

Run from the repository root (``nox -s bench`` installs what it needs)::

    python benchmarks/run.py                   # 5 rounds, about 6 minutes
    python benchmarks/run.py --quick           # 1 round, small N: a smoke run
    python benchmarks/run.py --markdown out.md # also write the tables to a file
    python benchmarks/run.py --profile         # where cio_async's time goes

Methodology
-----------

*The server.* Every contestant talks HTTP to ``server.py``, a lean counting
stand-in for the Track API (and Segment's ``/v1/batch``) in a process of its own
on 127.0.0.1, so it never competes with the client for the interpreter lock. It
answers ``200`` at once or after an added latency (0 and 20 ms), and counts the
items it received. ``FakeCustomerIO`` is not the target because it stores what it
receives: it absorbs only a fraction of what cio_async sends, so it would measure
itself. Both capacities are printed with every run.

*Throughput.* One measurement is one process (``contestants.py``): it warms the
contestant up (a few events, delivered), zeroes the server's counters, starts the
clock, sends ``N`` events, and stops the clock when the contestant says all was
handed over (``flush()``, the last answer, ``queue.join()``). Events per second
is what the *server* counted over that time, so dropped events do not count.
Every contestant sends the same events: a pool of 1,000 distinct ones with
nested data, about 300 bytes each as a v2 item, built before the clock starts.

*Rounds.* A pilot run per contestant and latency picks ``N`` so that a
measurement takes about ``TARGET_SECONDS``; then each round runs every
contestant at every latency once, in an order rotated from round to round, and
the micro figures once. Tables give the median over rounds and the min-max.
Ratios between contestants are taken within a round (the two ran seconds apart)
and their median is reported.

*Contestants.* cio_async is measured with its defaults (4 requests in flight,
up to 1,000 items and 475,000 bytes a batch, a 10,000-operation queue), except
``max_requests_per_second=None``: the default 100 requests/s is a courtesy to
Customer.io, not a limit of the client. The ceiling is a minimal hand-written
aiohttp client posting v2 batches of 500 items with 4 in flight; its items are
built and encoded with cio_async's own encoder, either before the clock (the
transport's ceiling) or while it runs (the least work any client must do).
Competitors run with their defaults, pointed at the server: Segment's
``host`` option, and a subclass that builds ``http://`` URLs for the two
Customer.io SDKs, which only build ``https://`` ones. The blocking SDKs
(``customerio``, Segment's ``track()``) are called from one thread.

*Micro figures* are described in ``micro.py``; *the profile* runs py-spy on the
one-coroutine cio_async case and sums samples by function.

The machine is shared: the load average before and after is printed, and every
figure comes with its spread.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
LATENCIES = (0.0, 20.0)
ROUNDS = 5
TARGET_SECONDS = 2.5
# The longest any one child process may run.
CHILD_TIMEOUT = 180.0


@dataclass(frozen=True)
class Contestant:
    """
    A row of the throughput table.
    """

    name: str
    label: str
    # N of the pilot run (and of --quick), per latency: well under a second.
    pilot: dict[float, int]


CONTESTANTS = (
    Contestant("cio", "cio_async, 1 coroutine", {0.0: 20_000, 20.0: 20_000}),
    Contestant("cio-50", "cio_async, 50 coroutines", {0.0: 20_000, 20.0: 20_000}),
    Contestant(
        "ceiling", "ceiling: aiohttp, bodies pre-built", {0.0: 200_000, 20.0: 40_000}
    ),
    Contestant(
        "ceiling-encode",
        "ceiling: aiohttp, encoding in the loop",
        {0.0: 100_000, 20.0: 40_000},
    ),
    Contestant("segment", "segment-analytics-python", {0.0: 5_000, 20.0: 5_000}),
    Contestant("customerio", "customerio (official)", {0.0: 500, 20.0: 30}),
    Contestant(
        "async-customerio", "async-customerio, 1 coroutine", {0.0: 300, 20.0: 20}
    ),
    Contestant(
        "async-customerio-50",
        "async-customerio, 50 coroutines",
        {0.0: 200, 20.0: 300},
    ),
)
BY_NAME = {c.name: c for c in CONTESTANTS}
MICRO_FIGURES = ("track-cost", "rss", "stall", "stall-frozen")
PACKAGES = ("cio-async", "segment-analytics-python", "customerio", "async-customerio")


# -- child processes ----------------------------------------------------------------


def run_child(script: str, *args: str) -> dict[str, Any] | None:
    """
    Run a benchmark script and return the JSON it printed, or None if it failed.
    """
    command = [PYTHON, str(HERE / script), *args]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        print(
            f"  ! {' '.join(args)}: no result within {CHILD_TIMEOUT:g} s",
            file=sys.stderr,
        )
        return None

    if done.returncode != 0 or not done.stdout.strip():
        tail = "\n    ".join(done.stderr.strip().splitlines()[-5:])
        print(
            f"  ! {' '.join(args)} failed ({done.returncode}):\n    {tail}",
            file=sys.stderr,
        )
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def serving(
    script: str, *args: str, extra_lines: int = 0
) -> Iterator[tuple[int, list[str]]]:
    """
    Start a server script; yield its port and the ``extra_lines`` it printed next.

    The script prints ``listening on <port>`` and runs until it is terminated or
    its stdin closes.
    """
    process = subprocess.Popen(
        [PYTHON, str(HERE / script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first.startswith("listening on "):
            message = f"{script} did not start: {first!r}"
            raise RuntimeError(message)
        extra = [process.stdout.readline() for _ in range(extra_lines)]
        yield int(first.split()[-1]), extra
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- measuring ----------------------------------------------------------------------


@dataclass
class Results:
    """
    Everything measured in one run.
    """

    n: dict[tuple[str, float], int] = field(default_factory=dict)
    throughput: dict[tuple[str, float], list[dict[str, Any]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    micro: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    capacity: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    rounds: int = 0


def measure(name: str, port: int, n: int, latency: float) -> dict[str, Any] | None:
    result = run_child(
        "contestants.py", name, "--port", str(port), "--n", str(n),
        "--latency-ms", f"{latency:g}",
    )  # fmt: skip
    if result is not None:
        lost = n - result["dropped"] - result["delivered"]
        flag = f", {lost:,} LOST" if lost else ""
        flag += f", {result['errors']} server errors" if result["errors"] else ""
        print(
            f"  {name:<20} {latency:>3g} ms  N={n:<9,} {result['rate']:>11,.0f} ev/s"
            f"  {result['seconds']:5.2f} s  dropped {result['dropped']:,}{flag}",
            file=sys.stderr,
        )
    return result


def choose_n(pilot_n: int, rate: float) -> int:
    """
    N for about ``TARGET_SECONDS`` at ``rate``: two significant digits.
    """
    wanted = max(pilot_n, min(50 * pilot_n, rate * TARGET_SECONDS))
    digits = len(str(int(wanted))) - 2
    return int(round(wanted, -digits)) if digits > 0 else int(wanted)


def calibrate(port: int, results: Results, contestants: Sequence[Contestant]) -> None:
    print("pilot runs (choose N):", file=sys.stderr)
    for latency in LATENCIES:
        for contestant in contestants:
            pilot_n = contestant.pilot[latency]
            pilot = measure(contestant.name, port, pilot_n, latency)
            rate = pilot["rate"] if pilot else pilot_n / TARGET_SECONDS
            results.n[contestant.name, latency] = choose_n(pilot_n, rate)


def run_rounds(
    port: int, results: Results, contestants: Sequence[Contestant], rounds: int
) -> None:
    jobs = [(c.name, latency) for latency in LATENCIES for c in contestants]
    for number in range(rounds):
        print(f"round {number + 1} of {rounds}:", file=sys.stderr)
        shift = number * len(jobs) // max(rounds, 1)
        for name, latency in jobs[shift:] + jobs[:shift]:
            result = measure(name, port, results.n[name, latency], latency)
            if result is not None:
                result["round"] = number
                results.throughput[name, latency].append(result)
        for figure in MICRO_FIGURES:
            micro = run_child("micro.py", figure, "--port", str(port))
            if micro is not None:
                micro["round"] = number
                results.micro[figure].append(micro)
                print(f"  {figure:<20} {summary_line(figure, micro)}", file=sys.stderr)
        results.rounds += 1


def summary_line(figure: str, result: dict[str, Any]) -> str:
    if figure == "track-cost":
        return (
            f"track() {result['track']['median_us']:.2f} µs median, "
            f"put_nowait {result['put_nowait']['median_us']:.2f} µs"
        )
    if figure == "rss":
        return f"{result['bytes_per_event']:.0f} bytes per queued event"
    return (
        f"largest stall {result['max_ms']:.1f} ms, "
        f"longest collection {result['collection_max_ms']:.1f} ms"
    )


def measure_capacity(port: int, results: Results) -> None:
    """
    What the lean server and FakeCustomerIO absorb from the pre-built ceiling.
    """
    print("server capacity:", file=sys.stderr)
    results.capacity["lean"] = run_child(
        "micro.py", "capacity", "--url", f"http://127.0.0.1:{port}"
    )
    with serving("micro.py", "serve-fake", extra_lines=1) as (fake_port, extra):
        credentials = json.loads(extra[0])
        results.capacity["fake"] = run_child(
            "micro.py", "capacity", "--url", f"http://127.0.0.1:{fake_port}",
            "--site-id", credentials["site_id"], "--api-key", credentials["api_key"],
        )  # fmt: skip
    for name, result in results.capacity.items():
        rate = f"{result['rate']:,.0f} items/s" if result else "failed"
        print(f"  {name:<20} {rate}", file=sys.stderr)


# -- reporting ----------------------------------------------------------------------


def spread(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """
    ``median [min-max]``, or the one value.
    """
    if not values:
        return "—"
    middle = fmt.format(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def rates(results: Results, name: str, latency: float) -> list[float]:
    return [r["rate"] for r in results.throughput.get((name, latency), [])]


def paired_ratios(
    results: Results, top: str, bottom: str, latency: float, *, at: float | None = None
) -> list[float]:
    """
    ``top / bottom`` within each round both were measured in.

    Both at ``latency``, unless ``at`` gives the bottom's own latency.
    """
    bottom_key = (bottom, latency if at is None else at)
    by_round = {r["round"]: r["rate"] for r in results.throughput.get(bottom_key, [])}
    return [
        r["rate"] / by_round[r["round"]]
        for r in results.throughput.get((top, latency), [])
        if by_round.get(r["round"])
    ]


def micro_values(results: Results, figure: str, path: str) -> list[float]:
    return [pick(r, path) for r in results.micro.get(figure, [])]


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def throughput_table(results: Results) -> list[str]:
    head = ["contestant"]
    for latency in LATENCIES:
        head += [
            f"N @{latency:g} ms",
            f"events/s @{latency:g} ms",
            f"dropped @{latency:g} ms",
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for contestant in CONTESTANTS:
        if not any((contestant.name, latency) in results.n for latency in LATENCIES):
            continue
        cells = [contestant.label]
        for latency in LATENCIES:
            runs = results.throughput.get((contestant.name, latency), [])
            n = results.n.get((contestant.name, latency))
            cells.append(f"{n:,}" if n else "—")
            cells.append(spread([r["rate"] for r in runs]))
            dropped = [r["dropped"] / r["n"] * 100 for r in runs]
            cells.append(spread(dropped, "{:.0f}%") if any(dropped) else "0")
        lines.append("| " + " | ".join(cells) + " |")

    return lines


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("pass" if ok else "**miss**")


def target_rows(results: Results) -> list[tuple[str, str, str, bool | None]]:
    """
    (target, measured, goal, met) for every target of the issue.
    """
    from cio_async import BatchConfig

    rows: list[tuple[str, str, str, bool | None]] = []

    def ratio_row(
        label: str, top: str, bottom: str, latency: float, goal: float
    ) -> None:
        values = paired_ratios(results, top, bottom, latency)
        met = statistics.median(values) >= goal if values else None
        rows.append((label, spread(values, "{:.2f}x"), f"≥ {goal:g}x", met))

    ratio_row(
        "0 ms: cio_async ÷ ceiling (bodies pre-built)", "cio", "ceiling", 0.0, 0.5
    )
    ratio_row(
        "0 ms: cio_async ÷ ceiling (encoding in the loop)",
        "cio",
        "ceiling-encode",
        0.0,
        0.5,
    )
    ratio_row("0 ms: cio_async ÷ segment", "cio", "segment", 0.0, 10)

    defaults = BatchConfig()
    bound = defaults.max_concurrent_requests * defaults.max_batch_items / 0.020
    values = [rate / bound for rate in rates(results, "cio", 20.0)]
    rows.append(
        (
            f"20 ms: cio_async ÷ ({defaults.max_concurrent_requests} in flight x "
            f"{defaults.max_batch_items:,} items ÷ 20 ms = {bound:,.0f}/s)",
            spread(values, "{:.2f}x"),
            "≥ 0.8x",
            statistics.median(values) >= 0.8 if values else None,
        )
    )
    ratio_row("20 ms: cio_async ÷ segment", "cio", "segment", 20.0, 20)
    hidden = paired_ratios(results, "cio", "cio", 20.0, at=0.0)
    rows.append(
        ("(info) cio_async at 20 ms ÷ at 0 ms", spread(hidden, "{:.2f}x"), "—", None)
    )

    track = micro_values(results, "track-cost", "track.median_us")
    puts = micro_values(results, "track-cost", "put_nowait.median_us")
    rows.append(
        (
            "one `await cio.track()`, median",
            spread(track, "{:.2f} µs"),
            "≤ 3 µs",
            statistics.median(track) <= 3 if track else None,
        )
    )
    multiples = [t / p for t, p in zip(track, puts, strict=True) if p]
    rows.append(
        (
            "… as a multiple of `Queue.put_nowait(dict)`",
            spread(multiples, "{:.0f}x"),
            "≤ 3x",
            statistics.median(multiples) <= 3 if multiples else None,
        )
    )
    per_event = micro_values(results, "rss", "bytes_per_event")
    rows.append(
        (
            "RSS growth per queued event",
            spread(per_event, "{:.0f} B"),
            "≤ 500 B",
            statistics.median(per_event) <= 500 if per_event else None,
        )
    )
    stalls = micro_values(results, "stall", "max_ms")
    rows.append(
        (
            "largest event-loop stall, 50,000 events",
            spread(stalls, "{:.1f} ms"),
            "≤ 5 ms",
            statistics.median(stalls) <= 5 if stalls else None,
        )
    )
    return rows


# Each micro-table row: label, figure, the value's path in its JSON, format.
MICRO_ROWS = (
    ("`await cio.track()`, median", "track-cost", "track.median_us", "{:.2f} µs"),
    ("`await cio.track()`, p99", "track-cost", "track.p99_us", "{:.2f} µs"),
    ("`Queue.put_nowait()`, median", "track-cost", "put_nowait.median_us", "{:.2f} µs"),
    ("`Queue.put_nowait()`, p99", "track-cost", "put_nowait.p99_us", "{:.2f} µs"),
    ("RSS growth, 100,000 events queued", "rss", "growth_mib", "{:.1f} MiB"),
    ("… per event", "rss", "bytes_per_event", "{:.0f} B"),
    ("… the event's v2 item as JSON", "rss", "item_json_bytes", "{:.0f} B"),
    ("… its `data` as JSON", "rss", "data_json_bytes", "{:.0f} B"),
    ("largest heartbeat lag, 50,000 events", "stall", "max_ms", "{:.1f} ms"),
    ("… p99 lag", "stall", "p99_ms", "{:.2f} ms"),
    ("… longest GC pause meanwhile", "stall", "collection_max_ms", "{:.1f} ms"),
    ("… full (gen-2) collections meanwhile", "stall", "full_collections", "{:.0f}"),
    ("… longest producer slice (10 calls)", "stall", "slice_max_ms", "{:.1f} ms"),
    ("largest lag, after `gc.freeze()`", "stall-frozen", "max_ms", "{:.1f} ms"),
    ("… longest GC pause meanwhile", "stall-frozen", "collection_max_ms", "{:.1f} ms"),
)  # fmt: skip


def pick(result: dict[str, Any], path: str) -> float:
    """
    The value at a dotted ``path`` of a figure's JSON.
    """
    value: Any = result
    for key in path.split("."):
        value = value[key]

    return float(value)


def micro_table(results: Results) -> list[str]:
    lines = ["| figure | median [min-max] over rounds |", "|---|---|"]
    for label, figure, path, fmt in MICRO_ROWS:
        values = [pick(r, path) for r in results.micro.get(figure, [])]
        if values:
            lines.append(f"| {label} | {spread(values, fmt)} |")

    return lines


def validity(results: Results) -> str:
    """
    Whether every measurement delivered all it accepted, without server errors.
    """
    problems = []
    for (name, latency), runs in sorted(results.throughput.items()):
        lost = sum(r["n"] - r["dropped"] - r["delivered"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        if lost or errors:
            problems.append(f"{name} @{latency:g} ms: {lost:,} lost, {errors} errors")
    if not problems:
        return (
            "Every measurement: the server counted every event the contestant "
            "accepted (N minus drops), and no request it could not count."
        )
    return "**Anomalies:** " + "; ".join(problems) + "."


def report(results: Results, command: str, load: tuple[str, str]) -> str:
    cio = results.throughput.get(("cio", 0.0)) or results.throughput.get(
        ("ceiling", 0.0)
    )
    encoder = cio[0].get("encoder", "?") if cio else "?"
    versions = ", ".join(f"{p} {version(p)}" for p in PACKAGES)
    lines = [
        f"`{command}` — {datetime.date.today():%Y-%m-%d}, {results.rounds} round(s); "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {load[0]} before, {load[1]} after.",
        "",
        f"Versions: {versions}. cio_async's JSON encoder: **{encoder}**.",
        "",
        "Events per second delivered (counted by the server), median [min-max] "
        "over rounds; added server latency 0 and 20 ms.",
        "",
        *throughput_table(results),
        "",
        "cio_async runs with `BatchConfig(max_requests_per_second=None)` and "
        "otherwise its defaults (4 requests in flight, ≤ 1,000 items a batch, a "
        "10,000-operation queue). The ceilings post 500-item v2 batches, 4 in flight, "
        f"encoded with the library cio_async encodes with ({encoder}), called "
        "directly. Segment runs with its "
        "defaults: one consumer thread, 100 messages a request, a 10,000-message "
        "queue that drops what does not fit (*dropped*). customerio is blocking "
        "and sends one request per event from one thread; async-customerio sends "
        "one request per event.",
        "",
        "| target | measured | goal | result |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {t} | {m} | {g} | {verdict(ok)} |" for t, m, g, ok in target_rows(results)
    ]
    lines += ["", *micro_table(results), "", validity(results)]

    capacity = [
        f"{label}: {result['rate']:,.0f} items/s"
        for label, result in (
            ("the lean server", results.capacity.get("lean")),
            ("FakeCustomerIO", results.capacity.get("fake")),
        )
        if result
    ]
    if capacity:
        lines.append(
            "Server capacity (pre-built ceiling client, 4 in flight, one run): "
            + "; ".join(capacity)
            + "."
        )
    return "\n".join(lines) + "\n"


# -- profiling ----------------------------------------------------------------------


def profile(port: int, n: int, top: int) -> None:
    """
    Sample the one-coroutine cio_async case with py-spy; print where time goes.
    """
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: pip install py-spy")

    out = Path(tempfile.mkdtemp(prefix="cio-bench-")) / "profile.txt"
    command = [
        spy, "record", "--format", "raw", "--rate", "1000", "--nolineno",
        "-o", str(out), "--", PYTHON, str(HERE / "contestants.py"), "cio",
        "--port", str(port), "--n", str(n),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=CHILD_TIMEOUT, capture_output=True)
    print(summarise_profile(out.read_text(), top))
    print(f"raw stacks: {out} (flamegraph.pl or speedscope.app read them)")


def summarise_profile(raw: str, top: int) -> str:
    """
    Self and total time by function, for stacks under ``asyncio.run``.
    """
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # Imports and the event pool are set-up: keep what runs in the loop.
        if not any("run_until_complete" in frame for frame in frames):
            continue
        weight = int(count)
        samples += weight
        own[frames[-1]] += weight
        areas[area(frames[-1])] += weight
        for frame in set(frames):
            total[frame] += weight

    def share(value: int) -> str:
        return f"{value / samples * 100:5.1f}%"

    lines = [f"{samples:,} samples in the event loop", "", "self time by area:"]
    lines += [f"  {share(v)}  {name}" for name, v in areas.most_common()]
    lines += ["", f"top {top} functions by self time (self, total):"]
    lines += [
        f"  {share(v)} {share(total[name])}  {name}" for name, v in own.most_common(top)
    ]
    return "\n".join(lines)


def area(frame: str) -> str:
    """
    Which package a py-spy frame ``name (path)`` belongs to.
    """
    path = frame.rpartition("(")[2]
    for marker, name in (
        ("cio_async", "cio_async"),
        ("aiohttp", "aiohttp"),
        ("yarl", "aiohttp"),
        ("multidict", "aiohttp"),
        ("anyio", "anyio"),
        ("asyncio", "asyncio"),
        ("json", "json"),
        ("contestants.py", "benchmark loop"),
    ):
        if marker in path:
            return name
    return "other"


# -- main ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, small N")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--only", nargs="+", choices=sorted(BY_NAME), help="measure these only"
    )
    parser.add_argument("--markdown", type=Path, help="also write the report here")
    parser.add_argument("--profile", action="store_true", help="profile instead")
    parser.add_argument("--profile-n", type=int, default=300_000)
    parser.add_argument("--profile-top", type=int, default=25)
    args = parser.parse_args(argv)

    command = "python benchmarks/run.py" + (
        " " + " ".join(sys.argv[1:]) if sys.argv[1:] else ""
    )
    contestants = (
        [BY_NAME[name] for name in args.only] if args.only else list(CONTESTANTS)
    )
    load_before = Path("/proc/loadavg").read_text().split()[0]
    started = time.monotonic()

    with serving("server.py") as (port, _):
        if args.profile:
            profile(port, args.profile_n, args.profile_top)
            return

        results = Results()
        measure_capacity(port, results)
        if args.quick:
            for contestant in contestants:
                for latency in LATENCIES:
                    results.n[contestant.name, latency] = contestant.pilot[latency]
            run_rounds(port, results, contestants, 1)
        else:
            calibrate(port, results, contestants)
            run_rounds(port, results, contestants, args.rounds)

    load_after = Path("/proc/loadavg").read_text().split()[0]
    text = report(results, command, (load_before, load_after))
    print(f"finished in {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
