"""Workloads for recording (step back). Usage: recorded.py fib N | recorded.py words N

fib: call-heavy, naive recursive Fibonacci, two short lines a call.
words: counting words, lines that do some work each (string methods, dict updates).
"""
import sys


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def words(n):
    text = "The quick brown fox jumps over the lazy dog, then naps. " * 20
    counts = {}
    for _ in range(n):
        for word in text.split():
            key = word.strip(",.").lower()
            counts[key] = counts.get(key, 0) + 1
    return counts


def main(kind, n):
    result = fib(n) if kind == "fib" else words(n)
    return result  # bench-recorded-end


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
