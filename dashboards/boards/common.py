"""Variables and filters several boards share."""

from __future__ import annotations

from ..spec import Variable
from ..sql import segment_order

SEGMENTS = Variable(
    "segments",
    "query",
    "SELECT segment FROM (SELECT DISTINCT segment FROM alerts_minute UNION DISTINCT"
    f" SELECT DISTINCT segment FROM talkers_minute) ORDER BY {segment_order()}",
    multi=True,
    include_all=True,
    default="$__all",
)
# the plugin's own macro: the condition, or nothing when All (or nothing) is chosen
IN_SEGMENTS = "$__conditionalAll(segment IN ($segments), $segments)"
