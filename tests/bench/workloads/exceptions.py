"""Exception-heavy: every iteration raises in user code and catches it one frame up.
Usage: exceptions.py N"""
import sys


class Rejected(Exception):
    pass


def check(i):
    if i >= 0:  # bench-hot: i < 0
        if i < 0:
            print("unreachable")  # bench-never
        raise Rejected(i)
    return i


def main(n):
    caught = 0
    for i in range(n):
        try:
            check(i)
        except Rejected:
            caught += 1
    return caught


def hot_count(n):
    return n


if __name__ == "__main__":
    main(int(sys.argv[1]))
