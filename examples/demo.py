"""A small program to debug: run `scripts/demo`, or `pydbg --listen 5678 examples/demo.py`."""


def mean(values):
    total = sum(values)
    count = len(values)  # demo: stop here
    return total / count


def main():
    readings = [3.5, 4.0, 5.25, 6.0]
    print(f"mean of {len(readings)} readings: {mean(readings):.3f}")


if __name__ == "__main__":
    main()
