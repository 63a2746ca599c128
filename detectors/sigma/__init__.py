"""Sigma rules over our records (issue 5): pySigma parses the rules and maps them to our logs with a
processing pipeline; ``compiler`` turns each condition tree into Python once; ``SigmaDetector`` runs
them per batch and ``correlation`` handles Sigma 2 correlation rules. Our own rule pack is in
``detectors/rules``.

Wiring::

    engine.add(SigmaDetector.from_config(config, engine.counters))
"""

from .detector import SigmaDetector
from .ruleset import BUILTIN_RULES, DEFAULT_DIRECTIVE, CompiledRule, Rejected, RuleSet, load_ruleset
from .settings import SigmaSettings, sigma_settings

__all__ = [
    "BUILTIN_RULES",
    "CompiledRule",
    "DEFAULT_DIRECTIVE",
    "Rejected",
    "RuleSet",
    "SigmaDetector",
    "SigmaSettings",
    "load_ruleset",
    "sigma_settings",
]
