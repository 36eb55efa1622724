"""A file no workload imports: the target of the "breakpoint in a file never run" mode."""


def never_called():
    return 42  # bench-never
