"""The cost of data breakpoints (issue 16), against plain Python in the same run: a watched local
written on every iteration of a call-heavy hot loop, an object's attribute and a list's item
written 10^6 times, and a watched local of code that is not hot. Only pydbg has data breakpoints: debugpy and pdb
have no column here.

Each pydbg run stops once on the workload's `# bench-watch-WHAT` line, asks dataBreakpointInfo for
WHAT (an expression, with the frame), sets it with a hit condition never reached (so every write
is judged and none stops), removes the line breakpoint and runs to the end. The same session without the watch is the
baseline the ratio subtracts. Run it through
`scripts/bench --data [--quick]`. See docs/performance.md.
"""

import argparse
import os
import statistics
import sys
import time

import bench
from bench import median

WORKLOAD = bench.workload_path("watched")
NEVER = "==1000000000"
SIZES = {"local": 3_000_000, "attribute": 1_000_000, "item": 1_000_000, "cold": 3_000_000}
TARGETS = {"local": 2.0, "attribute": None, "item": None, "cold": 1.05}
LABELS = {
    "local": "watched local written on every iteration of a call-heavy hot loop",
    "attribute": "watched attribute written 10^6 times",
    "item": "watched list item written 10^6 times",
    "cold": "watched local of code that is not hot, same hot loop",
}


def watch_line(kind):
    what = {"local": "total", "attribute": "counter.value", "item": "data[0]", "cold": "label"}[kind]
    return bench.marked_line(WORKLOAD, f"watch-{what}"), what


def pydbg_run(kind, n, timeout, watch=True):
    line, what = watch_line(kind)
    process, client, _, _ = bench.start_session("pydbg", WORKLOAD, [kind, str(n)], {WORKLOAD: [{"line": line}]},
                                                timeout=timeout)
    try:
        stop = client.wait_event("stopped", timeout=timeout)["body"]
        frame = client.ok("stackTrace", {"threadId": stop["threadId"], "levels": 1})["stackFrames"][0]
        info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": what})
        if not info.get("dataId"):
            raise bench.RunError(f"{what} cannot be watched: {info}")
        watches = [{"dataId": info["dataId"], "hitCondition": NEVER}] if watch else []
        placed = client.ok("setDataBreakpoints", {"breakpoints": watches})
        if not all(b["verified"] for b in placed["breakpoints"]):
            raise bench.RunError(f"not verified: {placed}")
        client.ok("setBreakpoints", {"source": {"path": WORKLOAD}, "breakpoints": []})
        client.ok("continue", {"threadId": stop["threadId"]})
        stops = bench.run_to_exit(process, client, timeout)
    finally:
        process.close()
    # run_to_exit counts the stop on the `# bench-watch-` line too.
    if stops > 1:
        raise bench.RunError(f"stopped {stops - 1} more times; a watch with {NEVER} never stops")
    if process.status != 0:
        raise bench.RunError(bench.describe_exit(process.status))
    return process.elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each (default 7, 3 quick)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    share = 10 if args.quick else 1
    sizes = {kind: n // share for kind, n in SIZES.items()}
    print(f"Python {sys.version.split()[0]}, {rounds} rounds, load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for kind, n in sizes.items():
        plain, unwatched, pydbg = [], [], []
        for _ in range(rounds):
            plain.append(bench.plain_run(WORKLOAD, [kind, str(n)], 300))
            unwatched.append(pydbg_run(kind, n, 300, watch=False))
            pydbg.append(pydbg_run(kind, n, 300))
        # The same session without the watch (start-up, the stop to set it) is subtracted, as
        # bench.py subtracts each tool's start-up: what remains is the watch's own cost.
        ratios = sorted(1 + (w - u) / p for p, u, w in zip(plain, unwatched, pydbg))
        per_write_ns = (median(pydbg) - median(unwatched)) / n * 1e9
        target = TARGETS[kind]
        met = "—" if target is None else ("yes" if median(ratios) <= target else "**no**")
        rows.append(f"| {LABELS[kind]} | {n:,} | {median(plain):.3f} s | {median(unwatched):.3f} s | {median(pydbg):.3f} s "
                    f"| {median(ratios):.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}) | {per_write_ns:.0f} ns "
                    f"| {'—' if target is None else f'≤ {target:.2f}×'} | {met} |")
        print(rows[-1], flush=True)
    print()
    print("| case | writes | plain | pydbg, no watch | pydbg, watched | ratio (min–max) | cost per write | target | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")


if __name__ == "__main__":
    main()
