"""`make bench`: the benches needing only this checkout, the sandbox and wrk, one after another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ["bench.client_bench", "bench.events_wrk", "bench.page_bench"]


def main() -> int:
    """Run each bench as `python -m`; stop at the first that fails."""
    for module in BENCHES:
        print(f"== {module}", flush=True)
        if subprocess.call([sys.executable, "-m", module], cwd=ROOT):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
