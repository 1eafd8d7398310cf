"""What every command needs (``Context``) and the join of findings to the threat model."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# The `threatmodel` package loads each part on first use (networkx only with a model); the
# IEC plan is imported where used: `triage ingest` starts without them.
import threatmodel
from triage.errors import BadInputError
from triage.model import NO_MODEL, UNMODELLED, Exposure, Tier
from triage.scoring import Rules

if TYPE_CHECKING:
    from triage.store import SqlStore


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The default clock: now in UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Context:
    """What every command needs: the store, the rules and the clock."""

    store: SqlStore
    rules: Rules
    clock: Clock = utc_now


class ThreatModelJoin:
    """Join findings' paths to threat-model components and their risk."""

    def __init__(self, path: Path | None) -> None:
        self.model = None
        self.sha256 = ""
        self.risks: dict[str, threatmodel.ComponentRisk] = {}
        if path is not None:
            try:
                self.model = threatmodel.load_model(path)
            except threatmodel.ModelError as e:
                raise BadInputError(str(e), hint="fix the threat model and ingest again") from e
            self.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            self.risks = threatmodel.component_risks(self.model)
            self.matcher = threatmodel.PathMatcher(self.model)
        self._cache: dict[tuple[str, str], Exposure] = {}

    def exposure(self, path: str, function: str = "") -> Exposure:
        """The exposure of the component that claims ``path`` (and its ``function``).

        A component whose ``functions`` selector matches the enclosing function wins over a
        path-only one; without a function, path selectors alone decide.
        """
        key = (path, function)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._exposure(path, function)
            self._cache[key] = hit
        return hit

    def _exposure(self, path: str, function: str) -> Exposure:
        if self.model is None:
            return NO_MODEL
        match = self.matcher.match(path, function)
        if match.component_id == threatmodel.UNMODELLED:
            return UNMODELLED
        risk = self.risks[match.component_id]
        return Exposure(
            component_id=risk.component_id,
            component_kind=risk.kind,
            tier=Tier(int(risk.tier)),
            exposure=risk.exposure,
            asset_value=round(risk.asset_value, 1),
            unauthenticated_from_untrusted=risk.unauthenticated_from_untrusted,
            reachable=risk.reachable,
            out_of_scope=risk.out_of_scope,
            justification=risk.justification,
            matched_glob=match.glob,
            reasons=risk.reasons,
            matched_function_glob=match.function_glob,
        )

    def gaps(self) -> tuple[str, ...]:
        """Paths no component claims."""
        return self.matcher.unmatched() if self.model is not None else ()
