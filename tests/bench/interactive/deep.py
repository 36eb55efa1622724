"""Stops 500 recursive frames deep, for `stackTrace`."""


def down(depth):
    if depth == 0:
        return bottom()
    return down(depth - 1) + 1


def bottom():
    return 0  # bench-stop


down(500)
