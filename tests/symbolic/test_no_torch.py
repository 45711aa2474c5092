"""The symbolic layer works with torch out of reach (DESIGN: symbolic never needs torch)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# sys.modules["torch"] = None makes every `import torch` raise ImportError.
BLOCK = "import sys; sys.modules['torch'] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_symbolic_and_tasks_import_and_fit_without_torch():
    proc = _run(
        """
        import numpy as np
        import hybrid.symbolic.regression
        import hybrid.tasks.feynman
        from hybrid.symbolic.regression import fit_power_law, is_exact_recovery
        from hybrid.tasks.feynman import get_equation, sample_equation

        eq = get_equation("I.12.2")
        s = sample_equation(eq, 16, np.random.default_rng(0))
        fit = fit_power_law(s.X, s.y, eq.variables)
        assert is_exact_recovery(fit.expression, eq.expression)
        assert sys.modules["torch"] is None
        print("exponents", [str(a) for a in fit.exponents])
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "exponents ['1', '1', '-1', '-2']" in proc.stdout


def test_the_block_really_blocks_torch():
    proc = _run("import hybrid.neural.regression\n")
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr or "ModuleNotFoundError" in proc.stderr
    assert "torch" in proc.stderr
