"""Generators and coroutines: a generator pipeline feeding a chain of awaited coroutines under
asyncio. Usage: generators.py N"""
import asyncio
import sys


def numbers(n):
    for i in range(n):
        yield i


def squares(source):
    for x in source:
        if x >= 0:  # bench-hot: x < 0
            if x < 0:
                print("unreachable")  # bench-never
            yield x * x


def evens(source):
    for x in source:
        if x % 2 == 0:
            yield x


async def leaf(x):
    return x + 1


async def middle(x):
    return await leaf(x) * 2


async def consume(n):
    total = 0
    for x in evens(squares(numbers(n))):
        total += await middle(x)
    return total


def hot_count(n):
    return n


def main(n):
    return asyncio.run(consume(n))


if __name__ == "__main__":
    main(int(sys.argv[1]))
