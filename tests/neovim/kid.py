def work(k):
    value = k * 7
    return value  # BREAK


print("kid", work(6), flush=True)
