"""Data breakpoints' cost (issue 16). Usage: watched.py local|attribute|item|cold N

- local: `total`, written on every iteration of a call-heavy hot loop;
- attribute: `counter.value`, an object's attribute written N times;
- item: `data[0]`, a list's item written N times;
- cold: `label`, a local of main(), which is not hot, while the same hot loop runs.
The benchmark stops on each `# bench-watch-WHAT` line once, watches what it names, and runs on."""
import sys


class Counter:
    def __init__(self):
        self.value = 0


def step(x):
    return x + 1


def hot_local(n):
    total = 0
    for _ in range(n):  # bench-watch-total
        total = step(total)
    return total


def hot_attribute(n):
    counter = Counter()
    for i in range(n):  # bench-watch-counter.value
        counter.value = i
    return counter.value


def hot_item(n):
    data = [0, 0]
    for i in range(n):  # bench-watch-data[0]
        data[0] = i
    return data[0]


def main(kind, n):
    label = kind
    if kind == "attribute":  # bench-watch-label
        return hot_attribute(n)
    if kind == "item":
        return hot_item(n)
    return hot_local(n)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
