"""Stops at once: a breakpoint on the first line (configurationDone → stopped latency)."""
first = 1  # bench-stop
second = first + 1
