"""Sigma rules over our records, in pySigma's layers: ``ruleset`` loads the rules (pySigma parses
them), ``pipeline`` maps Sigma's field names to our logs, and two backends emit them:
``backends.streaming`` turns each condition tree into Python once (the detectors run it per batch,
``wardwatch.detectors.sigma_detector``) and ``backends.clickhouse`` into SQL over the store
(retro-hunting, ``wardwatch.hunt``). ``correlation`` handles Sigma 2 correlation rules. Our own rule
pack is in ``sigmarules/rules``.

(The folder is not called ``sigma/``: from the source tree that name would shadow pySigma's ``sigma``.)
"""

from wardwatch.sigmarules.ruleset import (
    BUILTIN_RULES,
    DEFAULT_DIRECTIVE,
    CompiledRule,
    Rejected,
    RuleSet,
    load_ruleset,
)
from wardwatch.sigmarules.settings import SigmaSettings, sigma_settings

__all__ = [
    "BUILTIN_RULES",
    "CompiledRule",
    "DEFAULT_DIRECTIVE",
    "Rejected",
    "RuleSet",
    "SigmaSettings",
    "load_ruleset",
    "sigma_settings",
]
