"""Trend time series shaped with pandas: burn-down, rolling rates, time to fix, clean share.

The only module of the package that imports pandas (DESIGN.md §2). It reads the per-release
counts the store aggregated (``TrendReport.points``) and the fixes (``TrendReport.fixes``),
and hands the formats plain tuples: no DataFrame leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from triage.model import SecurityLevel, Severity, TrendReport

ROLLING_WINDOW = 3
"""Releases in the rolling mean of new and fixed issues."""


@dataclass(frozen=True, slots=True)
class FixStats:
    """Time to fix, in releases and days, of the issues of one severity fixed across the trend."""

    severity: Severity
    """Contextual severity."""
    fixes: int
    """Issues of this severity fixed."""
    mean: float
    """Mean releases from appearance to fix."""
    median: float
    """Median releases from appearance to fix."""
    mean_days: float | None = None
    """Mean days from the release date of appearance to that of the fix; None when no fix
    of this severity has both dates."""
    median_days: float | None = None
    """Median days, likewise."""


@dataclass(frozen=True, slots=True)
class TrendSeries:
    """The trend's derived series, one value per release in release order."""

    releases: tuple[str, ...]
    """Release names."""
    must_fix: tuple[tuple[SecurityLevel, tuple[int, ...]], ...]
    """Open must-fix per SL, one series per SL."""
    backlog: tuple[int, ...]
    """Open must-fix at the trend's SL after triage decisions: the burn-down."""
    opened: tuple[int, ...]
    """Must-fix that entered the backlog at each release."""
    closed: tuple[int, ...]
    """Must-fix fixed at each release."""
    cumulative_opened: tuple[int, ...]
    """Running total of ``opened``."""
    cumulative_closed: tuple[int, ...]
    """Running total of ``closed``."""
    new: tuple[int, ...]
    """New issues (all severities) per release."""
    fixed: tuple[int, ...]
    """Fixed issues (all severities) per release."""
    new_rolling: tuple[float, ...]
    """Mean of ``new`` over the last ``ROLLING_WINDOW`` releases."""
    fixed_rolling: tuple[float, ...]
    """Mean of ``fixed`` over the last ``ROLLING_WINDOW`` releases."""
    high_risk: tuple[int, ...]
    """High- and critical-tier components known at each release."""
    high_risk_clean: tuple[int, ...]
    """Of those, components with no must-fix finding at the trend's SL."""
    clean_share: tuple[float | None, ...]
    """``high_risk_clean / high_risk`` in percent, ``None`` with no high-risk component."""
    time_to_fix: tuple[FixStats, ...]
    """Time to fix by severity, most severe first; severities with no fix are left out."""


def _ints(s: pd.Series) -> tuple[int, ...]:
    return tuple(int(v) for v in s)


def _floats(s: pd.Series) -> tuple[float, ...]:
    return tuple(round(float(v), 2) for v in s)


def _maybe(v: object) -> float | None:
    """A pandas value rounded to 2 places, or None for a missing one."""
    import pandas as pd

    return None if pd.isna(v) else round(float(v), 2)  # type: ignore[call-overload, arg-type]


def shape(t: TrendReport) -> TrendSeries:
    """Shape a trend report's per-release counts and fixes into series."""
    # Imported here: pandas takes a third of a second to load, and only trends need it.
    import pandas as pd

    sls = [sl for sl, _ in t.points[0].must_fix_by_sl] if t.points else list(SecurityLevel)
    frame = pd.DataFrame(
        {
            "release": [p.release for p in t.points],
            "new": [p.new for p in t.points],
            "fixed": [p.fixed for p in t.points],
            "open": [p.must_fix_open for p in t.points],
            "opened": [p.must_fix_new for p in t.points],
            "closed": [p.must_fix_fixed for p in t.points],
            "high_risk": [len(p.high_risk_components) for p in t.points],
            "clean": [len(p.high_risk_clean) for p in t.points],
            **{f"sl{int(sl)}": [dict(p.must_fix_by_sl).get(sl, 0) for p in t.points]
               for sl in sls},
        },
        columns=["release", "new", "fixed", "open", "opened", "closed", "high_risk", "clean",
                 *(f"sl{int(sl)}" for sl in sls)],
    )
    share = (frame["clean"] / frame["high_risk"].where(frame["high_risk"] > 0) * 100).round(1)
    fixes = pd.DataFrame(
        {"severity": [int(f.severity) for f in t.fixes],
         "releases": [f.releases for f in t.fixes],
         "days": pd.Series([f.days for f in t.fixes], dtype="Float64")},
        columns=["severity", "releases", "days"],
    )
    stats = []
    if not fixes.empty:
        # Unknown days (a release without a date) are left out of the days' mean and median.
        grouped = fixes.groupby("severity").agg(
            count=("releases", "count"), mean=("releases", "mean"),
            median=("releases", "median"), mean_days=("days", "mean"),
            median_days=("days", "median"))
        for sev, row in grouped.sort_index(ascending=False).iterrows():
            stats.append(FixStats(Severity(int(sev)), int(row["count"]),
                                  round(float(row["mean"]), 2), round(float(row["median"]), 2),
                                  _maybe(row["mean_days"]), _maybe(row["median_days"])))
    roll = frame[["new", "fixed"]].rolling(ROLLING_WINDOW, min_periods=1).mean()
    return TrendSeries(
        releases=tuple(frame["release"]),
        must_fix=tuple((sl, _ints(frame[f"sl{int(sl)}"])) for sl in sls),
        backlog=_ints(frame["open"]),
        opened=_ints(frame["opened"]),
        closed=_ints(frame["closed"]),
        cumulative_opened=_ints(frame["opened"].cumsum()),
        cumulative_closed=_ints(frame["closed"].cumsum()),
        new=_ints(frame["new"]),
        fixed=_ints(frame["fixed"]),
        new_rolling=_floats(roll["new"]),
        fixed_rolling=_floats(roll["fixed"]),
        high_risk=_ints(frame["high_risk"]),
        high_risk_clean=_ints(frame["clean"]),
        clean_share=tuple(None if pd.isna(v) else float(v) for v in share),
        time_to_fix=tuple(stats),
    )
