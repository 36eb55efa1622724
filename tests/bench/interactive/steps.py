"""A loop to step through with `next` (the step round-trip latency)."""


def main():
    total = 0
    for i in range(10_000):
        total += i  # bench-stop
        total -= 1
        total *= 1
    return total


main()
