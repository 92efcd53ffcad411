"""Record lifetimes 0.11.3's fits on CDNOW in lifetimes_reference.json (run in its own venv).

lifetimes 0.11.3 does not install beside numpy 2 / pandas 3 / scipy 1.17, so it runs in a
throwaway environment:

    python3.11 -m venv /tmp/ltenv
    /tmp/ltenv/bin/pip install "numpy<2" "pandas<2" "scipy<1.13" autograd dill lifetimes==0.11.3
    /tmp/ltenv/bin/python tests/data/make_lifetimes_reference.py

Summary: lifetimes' summary_data_from_transaction_data with freq="D" (days), divided by 7
(the papers' fractional weeks), observation_period_end 1997-09-30.
"""

import gzip
import json
import platform
import sys
from pathlib import Path

import autograd
import lifetimes
import numpy as np
import pandas as pd
import scipy
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

HERE = Path(__file__).parent


def read(name: str) -> pd.DataFrame:
    raw = (HERE / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    lines = [line.split() for line in raw.decode("ascii").splitlines() if line.strip()]
    if not lines[0][0].isdigit():
        lines = lines[1:]
    offset = len(lines[0]) - 4
    return pd.DataFrame(
        {
            "customer_id": [line[0] for line in lines],
            "date": pd.to_datetime([line[1 + offset] for line in lines], format="%Y%m%d"),
            "amount": [float(line[3 + offset]) for line in lines],
        }
    )


def fit_all(name: str) -> dict:
    tx = read(name)
    s = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end="1997-09-30",
        freq="D",
    )
    s["recency"] /= 7.0
    s["T"] /= 7.0
    out = {
        "n_customers": len(s),
        "sum_frequency": int(s["frequency"].sum()),
        "sum_recency": float(s["recency"].sum()),
        "sum_T": float(s["T"].sum()),
    }
    for key, cls in [
        ("bgnbd", BetaGeoFitter),
        ("mbgnbd", ModifiedBetaGeoFitter),
        ("paretonbd", ParetoNBDFitter),
    ]:
        m = cls().fit(s["frequency"], s["recency"], s["T"])
        out[key] = {"params": {k: float(v) for k, v in m.params_.items()}}
    repeat = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    g = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    out["gamma_gamma"] = {
        "params": {k: float(v) for k, v in g.params_.items()},
        "n_customers": len(repeat),
    }
    return out


result = {
    "provenance": {
        "script": "tests/data/make_lifetimes_reference.py",
        "python": platform.python_version(),
        "lifetimes": lifetimes.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "autograd": getattr(autograd, "__version__", "1.9.1"),
        "summary": "summary_data_from_transaction_data(freq='D', observation_period_end="
        "'1997-09-30'), recency and T divided by 7; default fitters (penalizer 0)",
    },
    "cdnow_sample": fit_all("cdnow_sample.txt"),
    "cdnow_master": fit_all("cdnow_master.txt.gz"),
}
json.dump(result, sys.stdout, indent=2, sort_keys=True)
