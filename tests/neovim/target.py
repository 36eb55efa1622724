import sys


def compute(n):
    total = 0
    for i in range(n):
        total += i
    return total  # BREAK


def main():
    data = {"name": "pydbg", "items": [1, 2, 3]}
    result = compute(5)
    print("result", result, len(data))
    sys.exit(3)


main()
