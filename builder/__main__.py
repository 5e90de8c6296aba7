import atexit
import os
import sys

from builder.cli import main

code = main()
# Everything is written and every process and file closed by now. Tearing down the modules a
# build loads (jupyter_client, zmq, tornado, ...) would add some 70 ms to every run.
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
