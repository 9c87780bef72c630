"""Run the engine command line in this process and record its own peak RSS.

``python benchmarks/_peak.py OUT engine-args...`` writes this process's
VmHWM (kB) to OUT when the command ends. A parent reading ``ru_maxrss`` of a
child would also count pages the child shared with the parent before exec.
"""

import sys
from pathlib import Path

from engine.cli import main

out = Path(sys.argv[1])
sys.argv = ["engine", *sys.argv[2:]]
try:
    main()
finally:
    status = Path("/proc/self/status").read_text()
    out.write_text(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
