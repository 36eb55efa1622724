"""Call-heavy code for recording (step back): naive recursive Fibonacci. Usage: recorded.py N"""
import sys


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def main(n):
    result = fib(n)
    return result  # bench-recorded-end


if __name__ == "__main__":
    main(int(sys.argv[1]))
