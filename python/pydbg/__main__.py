import sys

from pydbg.cli import main

sys.exit(main())
