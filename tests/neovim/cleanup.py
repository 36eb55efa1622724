import sys
import time

marker = sys.argv[1]
try:
    x = 1
    x += 1  # BREAK
    time.sleep(60)
finally:
    time.sleep(0.5)
    with open(marker, "w") as f:
        f.write("cleaned up\n")
