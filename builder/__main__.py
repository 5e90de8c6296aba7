import atexit
import os
import sys
import threading

from builder.children import kill_descendants
from builder.cli import main

code = main()
# Whatever the build ended with, no process of ours outlives it (normally there is none left).
kill_descendants()
# Everything is written and every process and file closed by now. Tearing down the modules a
# build loads (jupyter_client, zmq, tornado, ...) would add some 70 ms to every run; the exit
# handlers run with a bound, since one waiting on a killed kernel must not hold the exit.
handlers = threading.Thread(target=atexit._run_exitfuncs, daemon=True)
handlers.start()
handlers.join(2.0)
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
