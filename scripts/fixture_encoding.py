"""How every fixture generator writes float32 values to JSON (shared by scripts/gen_fixtures*.py)."""
import numpy as np


def f32(v):
    """Shortest decimal that parses back (via Math.fround) to the float32."""
    x = np.float32(v)
    if not np.isfinite(x):
        raise ValueError("non-finite value in fixture: %r" % (v,))
    return float(str(x))
