"""Pure analytics: features from Arrow tables and models with the estimator contract."""

from kehu.analytics._base import ConvergenceError, InvalidDataError

__all__ = ["ConvergenceError", "InvalidDataError"]
