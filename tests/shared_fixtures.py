"""Where the recorded QBO traffic is: `../shared/fixtures/qbo-recorded`, beside the work tree.

`QBO_SHARED_DIR` names another `shared` folder. `scripts/mutation` sets it, because mutmut
runs the tests from a copy of the tree in `mutants/`, one folder deeper than the tree
itself. Tests that need the recordings skip, naming this path, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(
    os.environ.get("QBO_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared"
)
RECORDED = SHARED / "fixtures" / "qbo-recorded"
