"""Benchmark suite: ``python -m benchmarks`` from the repository root (``make bench``).

Every figure is printed as a ratio against a baseline measured in the same run, so that it means the same on
any machine; no wall-clock limit is asserted. Parts (``--only``): kernel, flow, long, pipeline.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflow" / "scripts"
if str(SCRIPTS) not in sys.path:  # the grokedge library lives in workflow/scripts
    sys.path.insert(0, str(SCRIPTS))
