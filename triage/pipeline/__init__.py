"""The pipeline: ingest → join → score → policy → store → report, one function per command.

It is the only layer that sees every stage; stages exchange ``triage.model`` records. The
CLI calls exactly one function here per command and renders what it returns. Its modules:
``context`` (what every command needs, the threat-model join), ``storing`` (ingest),
``judging`` (verdicts and must-fix counts, explain), ``reports`` (report, gate, diff, trend,
run), ``decisions``, ``scopes``, ``threat_models`` and ``plan`` (the IEC 62443-4-1 plan).
"""

from triage.pipeline.context import Clock, Context, ThreatModelJoin, utc_now
from triage.pipeline.decisions import (
    ImportResult,
    decide,
    decision_history,
    export_decisions,
    import_decisions,
)
from triage.pipeline.judging import (
    explain,
    must_fix_by_sl,
    must_fix_by_sl_in,
    release_scope,
    triage_release,
)
from triage.pipeline.plan import iec_plan
from triage.pipeline.reports import (
    GateResult,
    RunResult,
    diff,
    gate,
    high_risk_components,
    release_report,
    run,
    trend,
)
from triage.pipeline.scopes import load_scope
from triage.pipeline.storing import ingest
from triage.pipeline.threat_models import (
    THREAT_MODEL_VIEWS,
    check_threat_model,
    import_threat_dragon,
    show_threat_model,
    starter_threat_model,
    threat_model_coverage,
    threat_model_scope,
)
from triage.scoring import MODES

__all__ = [
    "MODES", "THREAT_MODEL_VIEWS", "Clock", "Context", "GateResult", "ImportResult",
    "RunResult", "ThreatModelJoin", "check_threat_model", "decide", "decision_history",
    "diff", "explain", "export_decisions", "gate", "high_risk_components", "iec_plan",
    "import_decisions", "import_threat_dragon", "ingest", "load_scope", "must_fix_by_sl",
    "must_fix_by_sl_in", "release_report", "release_scope", "run", "show_threat_model",
    "starter_threat_model", "threat_model_coverage", "threat_model_scope", "trend",
    "triage_release", "utc_now",
]
