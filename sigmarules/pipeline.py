"""The processing pipelines that take a Sigma rule to our records: pySigma ``ProcessingPipeline``s
with one field-name mapping per log, built from ``schema.FIELD_MAPS`` plus any mapping or pipeline
file the config adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from wardwatch.sigmarules.schema import FIELD_MAPS


def build_pipelines(
    extra_fields: Mapping[str, str | list[str]] | None = None,
    pipeline_files: Sequence[Path] = (),
) -> dict[str, ProcessingPipeline]:
    """log → pipeline. ``extra_fields`` (generic name → our field) apply to every log, after ours;
    ``pipeline_files`` are pySigma pipeline YAML files run first, in order."""
    extra = [ProcessingPipeline.from_yaml(Path(p).read_text(encoding="utf-8")) for p in pipeline_files]
    out: dict[str, ProcessingPipeline] = {}
    for log, mapping in FIELD_MAPS.items():
        full: dict[str | None, str | list[str]] = {}
        full.update(mapping)
        full.update(extra_fields or {})
        # identity entries are dropped: pySigma would count them as applied transformations
        full = {k: v for k, v in full.items() if k != v}
        ours = ProcessingPipeline(
            items=[ProcessingItem(FieldMappingTransformation(full), identifier=f"wardwatch_{log}_fields")],
            name=f"wardwatch {log}",
        )
        pipe = ours
        for p in reversed(extra):
            pipe = p + pipe
        out[log] = pipe
    return out
