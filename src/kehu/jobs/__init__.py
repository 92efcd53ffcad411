"""Batch work: pull tables from the store into Arrow, run analytics, write scores back."""

from kehu.jobs.value import ValueAnalysisError, run_value_analysis

__all__ = ["ValueAnalysisError", "run_value_analysis"]
