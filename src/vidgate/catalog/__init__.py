"""The capability catalog: per-model facts as data, and the checks run before any network call."""

from vidgate.catalog.loader import Catalog, is_retired, load_catalog, sunset_warning
from vidgate.catalog.schema import ModelSpec, ProviderSpec
from vidgate.catalog.validate import Change, Report, check, fit, validate
from vidgate.problems import Problem

__all__ = [
    "Catalog",
    "Change",
    "ModelSpec",
    "Problem",
    "ProviderSpec",
    "Report",
    "check",
    "fit",
    "is_retired",
    "load_catalog",
    "sunset_warning",
    "validate",
]
