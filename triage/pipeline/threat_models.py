"""`triage threatmodel ...`: thin wrappers over the standalone `threatmodel` package.

The CLI never imports it, and every ModelError becomes a BadInputError (exit 3, one line).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

# The `threatmodel` package loads each part on first use (networkx only with a model).
import threatmodel
from triage.errors import BadInputError
from triage.pipeline.context import utc_now

_P = ParamSpec("_P")
_R = TypeVar("_R")
_MODEL_HINT = "fix the threat model; `triage threatmodel validate FILE` names every problem"


def _model_call(fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    try:
        return fn(*args, **kwargs)
    except threatmodel.ModelError as e:
        raise BadInputError(str(e), hint=_MODEL_HINT) from e


def check_threat_model(path: Path, source_root: Path | None = None,
                       today: dt.date | None = None) -> threatmodel.ModelCheck:
    """Validate a model; warnings (stale review, globs matching nothing) come back as data."""
    day = today or utc_now().date()
    return _model_call(threatmodel.check_model, path, day, source_root)


def _model_and_risks(
    path: Path,
) -> tuple[threatmodel.ThreatModel, dict[str, threatmodel.ComponentRisk]]:
    model = _model_call(threatmodel.load_model, path)
    return model, threatmodel.component_risks(model)


THREAT_MODEL_VIEWS = ("table", "json", "dot", "mermaid")
"""Formats of ``show_threat_model``: table and json (``show``), dot and mermaid (``graph``)."""


def show_threat_model(path: Path, fmt: str = "table") -> str:
    """A rendered view of the model's components and their risk (``fmt`` in the views)."""
    views = {"table": threatmodel.risk_table, "json": threatmodel.risk_json,
             "dot": threatmodel.to_dot, "mermaid": threatmodel.to_mermaid}
    model, risks = _model_and_risks(path)
    return views[fmt](model, risks)


def threat_model_scope(path: Path) -> tuple[str, ...]:
    """Path globs of the high-risk components (SM-5 phase-1 scan scope)."""
    model, risks = _model_and_risks(path)
    return threatmodel.scope_globs(model, risks)


def threat_model_coverage(path: Path, source_root: Path) -> threatmodel.Coverage:
    """Which files under ``source_root`` fall in which component, and which in none."""
    model, _ = _model_and_risks(path)
    return _model_call(threatmodel.coverage, model, source_root)


def import_threat_dragon(path: Path) -> str:
    """A Threat Dragon v2 JSON model as commented schema-v1 YAML (paths left to fill)."""
    return _model_call(threatmodel.import_threat_dragon, path)


def starter_threat_model(today: dt.date | None = None) -> str:
    """The commented starter model for ``triage threatmodel init``."""
    return threatmodel.starter_model((today or utc_now().date()).isoformat())
