"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma on RFM summaries.

Every model fits and scores on the distinct (frequency, recency, T) tuples with their counts,
so the cost grows with the number of distinct tuples, not of customers.
"""

from kehu.analytics.clv._bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from kehu.analytics.clv._evaluation import FrequencyBucket, HoldoutReport, holdout_report
from kehu.analytics.clv._gammagamma import GammaGammaModel
from kehu.analytics.clv._paretonbd import ParetoNBDModel
from kehu.analytics.clv._simulate import simulate_summary, simulate_transactions
from kehu.analytics.clv._summary import summarize_transactions, summary_expr, summary_info
from kehu.analytics.clv._value import customer_lifetime_value

__all__ = [
    "BetaGeoModel",
    "FrequencyBucket",
    "GammaGammaModel",
    "HoldoutReport",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "holdout_report",
    "simulate_summary",
    "simulate_transactions",
    "summarize_transactions",
    "summary_expr",
    "summary_info",
]
