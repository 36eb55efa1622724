"""pydbg, debugpy and pdb/bdb on real programs: eleven of pyperformance's benchmarks, run as
plain scripts in one process each (pyperf's `--worker` mode), side by side with plain Python.

Run it through `scripts/bench --real [--quick]`, which prepares the venv (pydbg, debugpy,
pyperformance). Every run is timed from its start until its exit, with a real DAP client
attached for pydbg and debugpy, as bench.py does; ratios subtract each tool's empty-program time.
See docs/performance.md.
"""

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time

import bench
from bench import Process, median

HERE = os.path.dirname(os.path.abspath(__file__))

# Loops (pyperf's `--loops`) that make each program run about half a second here under plain
# Python 3.13; async: a coroutine benchmark, generators: a generator one.
BENCHMARKS = {
    "richards": 10, "nbody": 5, "float": 5, "deltablue": 150, "raytrace": 2, "json_dumps": 50,
    "json_loads": 1200, "regex_compile": 2, "generators": 20, "coroutines": 25, "async_generators": 1,
}
# bdb is tens of times slower with a breakpoint in a hot function: it runs a tenth of the loops,
# against plain Python at that size. (debugpy runs the full loops: with a tenth, its second of
# start-up would drown what it costs.)
SLOW_SHARE = 10

MODES = {
    "file": "breakpoint in a file never run",
    "hot": "breakpoint in the hot function, on a line never reached",
    "uncaught": "`uncaught` filter (the editors' default)",
    "raised": f"`raised` filter with justMyCode (only {bench.NEVER_RAISED})",
}
TARGETS = {"file": 1.01, "hot": 1.03, "uncaught": 1.01, "raised": 1.20}


def benchmarks_dir():
    import pyperformance
    return os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks")


def program(name):
    return os.path.join(benchmarks_dir(), f"bm_{name}", "run_benchmark.py")


def arguments(loops):
    return ["--worker", "--loops", str(loops), "--values", "1", "--warmups", "0", "--processes", "1"]


def hot_line(name, loops):
    """The hot function's never-reached line (hot_line.py), or None if every line of it runs."""
    result = subprocess.run([sys.executable, os.path.join(HERE, "hot_line.py"), program(name), *arguments(loops)],
                            capture_output=True, text=True, timeout=600, cwd=bench.ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith(("{", "null"))]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"hot_line.py on {name} failed: {result.stderr[-500:]}")
    return json.loads(lines[-1])


def one_run(tool, mode, name, loops, hot, timeout):
    """Seconds from start to exit of one run; raises on failure or on any stop."""
    path = program(name) if name != "empty" else bench.workload_path("empty")
    args = arguments(loops) if name != "empty" else []
    if tool in ("plain", "bdb"):
        where = f"{hot['file']}:{hot['line']}" if mode == "hot" else "0"
        command = [sys.executable, path, *args] if tool == "plain" else \
            [sys.executable, os.path.join(HERE, "bdb_driver.py"), path, where, *args]
        process = Process(command)
        try:
            if not process.wait(timeout):
                raise RuntimeError(f"did not exit within {timeout:.0f}s")
        finally:
            process.close()
        stops = 0
    else:
        breakpoints, filters = {}, ()
        if mode == "file":
            never_run = bench.workload_path("never_run")
            breakpoints = {never_run: [{"line": bench.markers(never_run)["never"]}]}
        elif mode == "hot":
            breakpoints = {hot["file"]: [{"line": hot["line"]}]}
        elif mode in ("uncaught", "raised"):
            filters = (mode,)
        process, client, _, _ = bench.start_session(tool, path, args, breakpoints, filters, timeout=60)
        try:
            stops = bench.run_to_exit(process, client, timeout)
        finally:
            process.close()
    if process.status != 0 or stops:
        raise RuntimeError(f"{bench.describe_exit(process.status)}, {stops} stops: {bench.one_line(process.output(300))}")
    return process.elapsed


def configurations(hot_lines, rounds):
    """(round, tool, mode, benchmark, size) in the order they run: every round runs plain and
    pydbg at full size; the first also runs debugpy, and bdb and plain at the slow size."""
    for round_number in range(rounds):
        for name in BENCHMARKS:
            runs = [("plain", "none", "full")]
            runs += [("pydbg", mode, "full") for mode in MODES if mode != "hot" or hot_lines[name]]
            if round_number == 0:
                runs += [("debugpy", mode, "full") for mode in MODES if mode != "hot" or hot_lines[name]]
                runs += [("plain", "none", "slow"), ("bdb", "hot", "slow")] if hot_lines[name] else []
            for tool, mode, size in runs:
                yield round_number, tool, mode, name, size


def ratio_stats(times, plain_times, empty_tool, empty_plain):
    """The median ratio to plain Python, and its spread over the runs."""
    base = median(plain_times) - empty_plain
    ratios = sorted((t - empty_tool) / base for t in times)
    return {"ratio": (median(times) - empty_tool) / base, "low": ratios[0], "high": ratios[-1]}


def fmt(stats):
    if stats is None:
        return "—"
    spread = f"{stats['low']:.2f}–{stats['high']:.2f}"
    if stats["ratio"] < 1.0:
        return f"1.00× (noise; {spread})"
    return f"{stats['ratio']:.2f}× ({spread})"


def geometric_mean(values):
    return math.exp(sum(math.log(max(v, 1e-9)) for v in values) / len(values)) if values else None


def report(times, empties, hot_lines, facts, settings):
    stats = {}
    for (tool, mode, name, size), runs in times.items():
        if tool == "plain":
            continue
        plain = times.get(("plain", "none", name, size))
        if plain:
            stats[(tool, mode, name)] = ratio_stats(runs, plain, empties[tool], empties["plain"])
    lines = [f"pydbg on real programs (pyperformance {facts['pyperformance']}) — {facts['date']}", "",
             f"- Python {facts['python']}; debugpy {facts['debugpy']}; pydbg {facts['pydbg']} ({facts['pydbg_commit']})",
             f"- {settings['rounds']} rounds for plain and pydbg, 1 for debugpy and for bdb (bdb: a tenth of the loops); "
             "medians, with the spread of the runs. Ratios are to plain Python at the same size, each tool's "
             "empty-program time subtracted. A ratio under 1.00× is noise.",
             f"- Empty program: " + ", ".join(f"{tool} {empties[tool] * 1000:.1f} ms" for tool in empties), ""]
    lines += ["### Geometric means", "", "| mode | target | pydbg | debugpy | pdb/bdb | met |", "|---|---|---|---|---|---|"]
    for mode, label in MODES.items():
        row = []
        for tool in ("pydbg", "debugpy", "bdb"):
            found = [stats[(tool, mode, name)] for name in BENCHMARKS if (tool, mode, name) in stats]
            row.append({key: geometric_mean([s[key] for s in found]) for key in ("ratio", "low", "high")}
                       if found else None)
        met = "yes" if row[0] and row[0]["ratio"] <= TARGETS[mode] else "**no**"
        lines.append(f"| {label} | ≤ {TARGETS[mode]:.2f}× | {fmt(row[0])} | {fmt(row[1])} | {fmt(row[2])} | {met} |")
    lines += ["", "### Per benchmark: pydbg", "", "| benchmark | plain | " + " | ".join(MODES.values()) + " |",
              "|---|---|" + "---|" * len(MODES)]
    for name in BENCHMARKS:
        plain = median(times.get(("plain", "none", name, "full"), [])) or 0
        cells = [fmt(stats.get(("pydbg", mode, name))) if mode != "hot" or hot_lines[name]
                 else "n/a: every line of its hot code runs" for mode in MODES]
        lines.append(f"| {name} | {plain:.3f} s | " + " | ".join(cells) + " |")
    lines += ["", "### Per benchmark: debugpy, and pdb/bdb (a tenth of the loops)", "",
              "| benchmark | " + " | ".join(f"debugpy: {label}" for label in MODES.values()) + " | bdb: hot line |",
              "|---|" + "---|" * (len(MODES) + 1)]
    for name in BENCHMARKS:
        cells = [fmt(stats.get(("debugpy", mode, name))) for mode in MODES] + [fmt(stats.get(("bdb", "hot", name)))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "### Hot lines (found by tests/bench/hot_line.py)", ""]
    for name, hot in hot_lines.items():
        where = "every line of its hot code runs" if hot is None else \
            f"{os.path.basename(hot['file'])}:{hot['line']} in {hot['function']} ({hot['share']:.0%} of the hottest code's passes)"
        lines.append(f"- {name}: {where}")
    return "\n".join(lines) + "\n", stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a third of the loops, two rounds")
    parser.add_argument("--rounds", type=int, help="rounds of plain and pydbg runs (default 2 quick, 5 full)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for any one run")
    options = parser.parse_args(argv)
    if options.quick:
        for name, loops in BENCHMARKS.items():
            BENCHMARKS[name] = max(1, loops // 3)
    settings = {"quick": options.quick, "rounds": options.rounds or (2 if options.quick else 5), "loops": dict(BENCHMARKS)}
    facts = bench.machine_facts()
    facts["pyperformance"] = __import__("pyperformance").__version__
    started = time.monotonic()
    bench.log("finding each benchmark's hot line")
    hot_lines = {name: hot_line(name, loops) for name, loops in BENCHMARKS.items()}
    empties = {}
    for tool in ("plain", "pydbg", "debugpy", "bdb"):
        empties[tool] = median([one_run(tool, "none", "empty", 0, None, options.timeout) for _ in range(3)])
    times, errors = {}, {}
    for round_number, tool, mode, name, size in configurations(hot_lines, settings["rounds"]):
        loops = BENCHMARKS[name] if size == "full" else max(1, BENCHMARKS[name] // SLOW_SHARE)
        try:
            elapsed = one_run(tool, mode, name, loops, hot_lines[name], options.timeout)
            times.setdefault((tool, mode, name, size), []).append(elapsed)
            bench.log(f"  round {round_number + 1} {tool:8} {mode:9} {name:17} {elapsed:7.3f} s")
        except Exception as e:
            errors.setdefault(f"{tool}/{mode}@{name}", []).append(f"{type(e).__name__}: {e}")
            bench.log(f"  round {round_number + 1} {tool:8} {mode:9} {name:17} FAILED: {e}")
    facts["duration_s"] = time.monotonic() - started
    text, stats = report(times, empties, hot_lines, facts, settings)
    if errors:
        text += "\n### Errors\n\n" + "\n".join(f"- {key}: {messages[0]}" for key, messages in errors.items()) + "\n"
    os.makedirs(bench.RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    version = "".join(facts["python"].split(".")[:2])
    out = os.path.join(bench.RESULTS_DIR, f"real-{stamp}-py{version}{'-quick' if options.quick else ''}")
    with open(out + ".json", "w") as f:
        json.dump({"facts": facts, "settings": settings, "hot_lines": hot_lines, "empty_s": empties,
                   "ratios": {"/".join(key): value for key, value in stats.items()}, "errors": errors,
                   "times_s": {"/".join(key): value for key, value in times.items()}}, f, indent=1, default=str)
    with open(out + ".md", "w") as f:
        f.write(text)
    print(text)
    bench.log(f"wrote {out}.json and .md in {facts['duration_s']:.0f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        Process.close_all()
