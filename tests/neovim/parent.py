import os
import subprocess
import sys

kid = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kid.py")
done = subprocess.run([sys.executable, kid])
print("kid exited", done.returncode, flush=True)
