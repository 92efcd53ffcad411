from pathlib import Path

import pyarrow as pa
import pytest

from kehu.analytics.clv import summarize_transactions
from kehu.analytics.datasets import read_cdnow

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture(scope="session")
def cdnow_sample_transactions() -> pa.Table:
    return read_cdnow(DATA / "cdnow_sample.txt")


@pytest.fixture(scope="session")
def cdnow_sample_summary(cdnow_sample_transactions: pa.Table) -> pa.Table:
    return summarize_transactions(
        cdnow_sample_transactions, calibration_end="1997-09-30", holdout_end="1998-06-30"
    )
