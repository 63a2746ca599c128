"""The store writer with every internal address pseudonymised (``store: {pseudonymise: true}``).

The writer itself replaces the client address (``id.orig_h``, an alert's ``src_ip``) after computing
the client's segment from it. This writer replaces every other internal address before the rows
reach it: responders (``id.resp_h``), DNS answers, PTR names, hosts and URIs, TLS server names, and
in alerts ``dst_ip``, the indicator, the summary texts and the evidence. Retro alerts (``wardwatch
hunt``) are built from stored rows, whose addresses are pseudonyms already, and pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wardwatch.alerts import Alert

from .backend import Backend
from .pseudonym import Pseudonymiser
from .writer import Writer

# the writer pseudonymises these itself, after the segment is taken from them
_CLIENT = ("id.orig_h", "src_ip")


class PseudonymisingWriter(Writer):
    def __init__(
        self, backend: Backend, segment_of: Callable[[str], str], pseudonymise: Pseudonymiser, **kw: Any
    ) -> None:
        self.pseudonymiser = pseudonymise
        # pseudonyms quoted back by retro alerts: the writer must not pseudonymise them again
        self._stored: set[str] = set()
        super().__init__(backend, segment_of, pseudonymise=self._client, **kw)

    def _client(self, ip: str) -> str:
        return ip if ip in self._stored else self.pseudonymiser(ip)

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        text = self.pseudonymiser.text
        out = []
        for rec in records:
            new = {}
            for k, v in rec.items():
                if k in _CLIENT:
                    new[k] = v
                elif type(v) is str:
                    new[k] = text(v)
                elif type(v) is list:
                    new[k] = [text(x) if type(x) is str else x for x in v]
                else:
                    new[k] = v
            out.append(new)
        super().add_records(out)

    def add_arrow(self, log_name: str, records: pa.StructArray) -> None:
        if len(records):
            fields = [records.type.field(i) for i in range(records.type.num_fields)]
            arrays = [
                a if f.name in _CLIENT else _scrub_array(a, self.pseudonymiser.text)
                for f, a in zip(fields, records.flatten(), strict=True)
            ]
            records = pa.StructArray.from_arrays(arrays, fields=fields, mask=_mask(records))
        super().add_arrow(log_name, records)

    def add_alerts(self, alerts: Iterable[Alert], retro: bool = False) -> None:
        p = self.pseudonymiser
        out = []
        for a in alerts:
            if retro or a.evidence.get("retro"):
                self._stored.add(a.src_ip)
                out.append(a)
                continue
            out.append(
                replace(
                    a,
                    dst_ip=p.text(a.dst_ip) if a.dst_ip else a.dst_ip,
                    indicator=p.text(a.indicator),
                    summary=p.deep(a.summary),
                    evidence=p.deep(a.evidence),
                )
            )
        super().add_alerts(out, retro=retro)


def _mask(st: pa.StructArray) -> pa.Array | None:
    return pc.is_null(st) if st.null_count else None


def _scrub_array(a: pa.Array, text: Any) -> pa.Array:
    """String and list-of-string columns with ``text`` applied once per distinct value."""
    t = a.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        uniq = pc.unique(a)
        mapped = pa.array([None if v is None else text(v) for v in uniq.to_pylist()], type=t)
        return pc.take(mapped, pc.index_in(a, uniq))
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_string(t.value_type):
        values = _scrub_array(a.values, text)
        cls = pa.ListArray if pa.types.is_list(t) else pa.LargeListArray
        return cls.from_arrays(a.offsets, values, mask=pc.is_null(a) if a.null_count else None)
    return a
