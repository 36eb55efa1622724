"""A local list of 10**6 items, to page through with `variables`."""


def main():
    big = list(range(10**6))
    return len(big)  # bench-stop


main()
