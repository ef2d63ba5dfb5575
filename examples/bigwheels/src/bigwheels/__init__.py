"""bigwheels: an example whose dependencies are large wheels (numpy, pandas)."""

from importlib.metadata import version


def main() -> None:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(10), "y": np.arange(10) ** 2})
    print(
        f"bigwheels {version('bigwheels')}: sum(y)={int(frame['y'].sum())} "
        f"mean(x)={frame['x'].mean():.1f} "
        f"(numpy {np.__version__}, pandas {pd.__version__})"
    )
