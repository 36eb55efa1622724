"""The cost of recording for step back (issue 20), against plain Python in the same run: a
call-heavy workload recorded whole, lines that do some work recorded whole, the call-heavy
workload while recording only a file it never runs, and the memory each recorded event takes. Only pydbg records: debugpy and pdb have no column here.

Each timed pydbg run attaches with `record` (and the default limit of 1,000,000 events), sets no
breakpoint and runs to the end; the same session with recording off is the baseline the ratio
subtracts. The memory run stops at the workload's last line with `recordLimit` events kept (the
workload runs more lines than that), reads the program's resident memory, and compares it with
the same stop without recording. Run it through `scripts/bench --record [--quick]`. See
docs/performance.md.
"""

import argparse
import os
import sys
import time

import bench
from bench import median

WORKLOAD = bench.workload_path("recorded")
NEVER_RUN = bench.workload_path("never_run")
# Each: the table's label, the workload's arguments, what `record` is, and the recorded lines it
# runs (None: not counted).
CASES = {
    "fib": ("call-heavy code (fib), recorded whole", "fib", True),
    "words": ("lines that do some work (counting words), recorded whole", "words", True),
    "never": ("call-heavy code, recording only a file never run", "fib", [NEVER_RUN]),
}
MEMORY_LIMIT = 1_000_000


def pydbg_run(args, timeout, record=None):
    attach = {"justMyCode": True, **({"record": record} if record is not None else {})}
    process, client, _, _ = bench.start_session("pydbg", WORKLOAD, args, attach_args=attach, timeout=timeout)
    try:
        stops = bench.run_to_exit(process, client, timeout)
    finally:
        process.close()
    if stops:
        raise bench.RunError(f"stopped {stops} times with no breakpoint")
    if process.status != 0:
        raise bench.RunError(bench.describe_exit(process.status))
    return process.elapsed


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise bench.RunError("no VmRSS")


def memory_at_end(n, timeout, record):
    """The program's resident memory (KiB) stopped at its last line."""
    end = bench.marked_line(WORKLOAD, "recorded-end")
    attach = {"justMyCode": True, **({"record": True, "recordLimit": MEMORY_LIMIT} if record else {})}
    process, client, _, _ = bench.start_session("pydbg", WORKLOAD, ["fib", str(n)], {WORKLOAD: [{"line": end}]},
                                                attach_args=attach, timeout=timeout)
    try:
        stop = client.wait_event("stopped", timeout=timeout)["body"]
        kb = resident_kb(process.pid)
        client.ok("continue", {"threadId": stop["threadId"]})
        bench.run_to_exit(process, client, timeout)
        return kb
    finally:
        process.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller workload, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each (default 7, 3 quick)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    sizes = {"fib": 24 if args.quick else 27, "words": 300 if args.quick else 3000}
    lines = {"fib": 2 * fib_calls(sizes["fib"])}
    print(f"Python {sys.version.split()[0]}, {rounds} rounds, fib({sizes['fib']}): {fib_calls(sizes['fib']):,} calls, "
          f"{lines['fib']:,} recorded lines; words({sizes['words']}); load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for case, (label, workload, record) in CASES.items():
        arguments = [workload, str(sizes[workload])]
        plain, off, on = [], [], []
        for _ in range(rounds):
            plain.append(bench.plain_run(WORKLOAD, arguments, 600))
            off.append(pydbg_run(arguments, 600))
            on.append(pydbg_run(arguments, 600, record))
        ratios = sorted(1 + (r - o) / p for p, o, r in zip(plain, off, on))
        per_line = "—"
        if case == "fib":
            per_line = f"{(median(on) - median(off)) / lines['fib'] * 1e9:.0f} ns"
        rows.append(f"| {label} | {median(plain):.3f} s | {median(off):.3f} s | {median(on):.3f} s "
                    f"| {median(ratios):.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}) | {per_line} |")
        print(rows[-1], flush=True)
    # Each call records two lines and a return.
    memory_n = 26
    assert 3 * fib_calls(memory_n) > MEMORY_LIMIT, "the memory run must fill the buffer"
    without = median([memory_at_end(memory_n, 600, False) for _ in range(3)])
    with_record = median([memory_at_end(memory_n, 600, True) for _ in range(3)])
    per_event = (with_record - without) * 1024 / MEMORY_LIMIT
    print()
    print("| case | plain | pydbg, not recording | pydbg, recording | ratio (min–max) | cost per recorded line |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nMemory: {MEMORY_LIMIT:,} events kept (fib({memory_n})): resident {without / 1024:.1f} MiB without "
          f"recording, {with_record / 1024:.1f} MiB with: **{per_event:.0f} bytes per event**.")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")


def fib_calls(n):
    """Calls of fib(n): 2 * fib(n + 1) - 1."""
    a, b = 0, 1
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


if __name__ == "__main__":
    main()
