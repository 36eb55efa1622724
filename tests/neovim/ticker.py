import sys
import time

marker = sys.argv[1]
for i in range(20):
    print("tick", i, flush=True)  # BREAK
    time.sleep(0.1)
with open(marker, "w") as f:
    f.write("done\n")
