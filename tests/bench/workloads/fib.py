"""Call-heavy: naive recursive Fibonacci. Usage: fib.py N"""
import sys


def fib(n):
    if n < 2:  # bench-hot: n < 0
        if n < 0:
            print("unreachable")  # bench-never
        return n
    return fib(n - 1) + fib(n - 2)


def hot_count(n):
    """How often the bench-hot line runs: the number of calls to fib, 2*fib(n+1) - 1."""
    a, b = 0, 1
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


def main(n):
    return fib(n)


if __name__ == "__main__":
    main(int(sys.argv[1]))
