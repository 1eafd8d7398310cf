"""The SL policy in its three modes: unit rules on real findings, and the properties
(hypothesis) that must hold in every mode: raising the SL never removes a must-fix finding;
lowering a component's tier never raises a contextual severity; every finding gets exactly
one verdict."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from triage_testkit import SAMPLE

from triage.errors import ConfigError
from triage.ingest.paths import PathNormaliser
from triage.ingest.sarif import read_sarif
from triage.model import (
    NO_MODEL,
    UNMODELLED,
    Capability,
    Exposure,
    Finding,
    ScoredFinding,
    SecurityLevel,
    Suppression,
    Tier,
)
from triage.scoring import MODES, Rules, capability, load_rules, make_policy, score

DISPOSITIONS = {"must-fix", "below-threshold", "pending-review", "model-gap", "out-of-scope",
                "suppressed", "needs-review", "not-a-defect"}


@cache
def rules() -> Rules:
    return load_rules()


@cache
def real_findings() -> tuple[Finding, ...]:
    """Every finding of pymodbus 3.3.0 and 2.1.0 as the three scanners reported them."""
    logs = [SAMPLE / r / f"{t}.sarif" for r in ("2.1.0", "3.3.0")
            for t in ("bandit", "ruff", "semgrep")]
    return tuple(f for scan in read_sarif(logs, PathNormaliser(None, ())) for f in scan.findings)


def _exposure(tier: Tier = Tier.HIGH, *, unauth: bool = True, reachable: bool = True,
              kind: str = "protocol-parser", out_of_scope: bool = False) -> Exposure:
    return Exposure(component_id="framers-pdu", component_kind=kind, tier=tier, exposure=3,
                    asset_value=90.0, unauthenticated_from_untrusted=unauth, reachable=reachable,
                    out_of_scope=out_of_scope, justification="not shipped" if out_of_scope else "")


def _real(tool: str, cwe: int | None = None) -> Finding:
    return next(f for f in real_findings() if f.tool.name == tool and f.kind == "fail"
                and (cwe is None or cwe in f.cwe_ids))


# ---- capability class -------------------------------------------------------------------


def test_cwe_with_unauthenticated_reach_needs_simple_means() -> None:
    # bandit B311 random (CWE-330, Likelihood_Of_Exploit High) in the Modbus PDU parser that
    # any host on the control network reaches without credentials.
    sf = score(_real("bandit", 330), _exposure(), rules())
    cap, why = capability(sf, rules().capability)
    assert cap == Capability.SIMPLE
    assert why[0].text == "CWE-330: simple: Likelihood_Of_Exploit High (CWE 4.14)"
    assert "reachable unauthenticated from an untrusted zone" in why[1].text


def test_authenticated_reach_raises_to_sophisticated() -> None:
    sf = score(_real("bandit", 330), _exposure(unauth=False), rules())
    assert capability(sf, rules().capability)[0] == Capability.SOPHISTICATED


def test_unreachable_and_test_code_need_extended_resources() -> None:
    for ex in (_exposure(reachable=False, unauth=False), _exposure(kind="test")):
        sf = score(_real("bandit", 330), ex, rules())
        assert capability(sf, rules().capability)[0] == Capability.EXTENDED


def test_casual_weakness_stays_casual_behind_credentials() -> None:
    # bandit B110 try/except/pass is CWE-703: a robustness weakness legitimate use triggers.
    sf = score(_real("bandit", 703), _exposure(unauth=False), rules())
    cap, why = capability(sf, rules().capability)
    assert cap == Capability.CASUAL
    assert "reach does not raise it" in why[-2].text


def test_unknown_or_missing_cwe_is_conservative() -> None:
    ruff = _real("ruff")
    assert ruff.cwe_ids == ()
    for f, needle in ((ruff, "the scanner gave no CWE"),
                      (replace(ruff, cwe_ids=(605,)),
                       "CWE-605: simple: the capability table (CWE 4.14) derives no class")):
        cap, why = capability(score(f, NO_MODEL, rules()), rules().capability)
        assert cap == Capability.SIMPLE
        assert needle in why[0].text
        assert "reach unknown: no threat model was given" in why[1].text


def test_several_cwes_take_the_easiest_way_in() -> None:
    f = replace(_real("bandit", 330), cwe_ids=(502, 703))   # sophisticated and casual
    cap, _ = capability(score(f, UNMODELLED, rules()), rules().capability)
    assert cap == Capability.CASUAL


# ---- the three modes ---------------------------------------------------------------------


def test_combined_fails_closed_and_names_the_disagreement() -> None:
    # ruff B006 (mutable default, no CWE): low, so below SL-2 by severity, but an unknown
    # weakness reachable unauthenticated is in scope for the SL-2 attacker.
    f = next(f for f in real_findings() if f.tool.name == "ruff" and f.rule_id == "B006")
    sf = score(f, _exposure(tier=Tier.MEDIUM), rules())
    s = make_policy("severity", rules(), SecurityLevel.SL2).judge(sf)
    c = make_policy("capability", rules(), SecurityLevel.SL2).judge(sf)
    both = make_policy("combined", rules(), SecurityLevel.SL2).judge(sf)
    assert (s.must_fix, c.must_fix, both.must_fix) == (False, True, True)
    assert both.disagreement == ("must fix by capability but not by severity at SL-2: "
                                 "review (DM-3)")
    assert c.reason.endswith('(SL-2: "Protection against intentional violation using simple '
                             'means with low resources, generic skills and low motivation")')
    assert (s.mode, c.mode, both.mode) == ("severity", "capability", "combined")


def test_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown policy mode 'strict'; known: severity, "
                                          "capability, combined"):
        make_policy("strict", rules(), SecurityLevel.SL2)


# ---- properties --------------------------------------------------------------------------

exposures = st.builds(
    Exposure,
    component_id=st.sampled_from(["framers-pdu", "tests", "unmodelled"]),
    component_kind=st.sampled_from(["protocol-parser", "web-server", "test", "no-model",
                                    "unmodelled"]),
    tier=st.sampled_from(list(Tier)),
    exposure=st.integers(0, 5),
    asset_value=st.floats(1, 100),
    unauthenticated_from_untrusted=st.booleans(),
    reachable=st.booleans(),
    out_of_scope=st.booleans(),
    justification=st.just("build scripts"),
)


@st.composite
def scored_findings(draw: st.DrawFn) -> ScoredFinding:
    f = draw(st.sampled_from(real_findings()))
    table = rules().capability
    assert table is not None
    cwes = draw(st.lists(st.one_of(st.sampled_from(sorted(table.entries)),
                                   st.integers(1, 2000)), max_size=3))
    f = replace(f, cwe_ids=tuple(cwes),
                kind=draw(st.sampled_from([f.kind, "fail", "fail", "review", "pass"])),
                suppression=draw(st.sampled_from([f.suppression, *Suppression])))
    return score(f, draw(exposures), rules())


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scored_findings())
def test_raising_the_sl_never_removes_a_must_fix_finding(sf: ScoredFinding) -> None:
    for mode in MODES:
        verdicts = [make_policy(mode, rules(), sl).judge(sf).must_fix for sl in SecurityLevel]
        # SL-1 ⊆ SL-2 ⊆ SL-3 ⊆ SL-4: once must-fix, must-fix at every higher SL.
        assert verdicts == sorted(verdicts), (mode, verdicts)


@SETTINGS
@given(scored_findings())
def test_every_finding_gets_exactly_one_verdict(sf: ScoredFinding) -> None:
    for sl in SecurityLevel:
        got = {mode: make_policy(mode, rules(), sl).judge(sf) for mode in MODES}
        for mode, v in got.items():
            assert v.disposition in DISPOSITIONS
            assert v.must_fix == (v.disposition == "must-fix")
            assert (v.sl, v.mode) == (sl, mode)
            assert v.reason
        s, c, both = got["severity"], got["capability"], got["combined"]
        assert both.must_fix == (s.must_fix or c.must_fix)
        assert bool(both.disagreement) == (s.must_fix != c.must_fix)


@SETTINGS
@given(st.sampled_from(real_findings()), exposures, st.sampled_from(list(Tier)))
def test_lowering_the_tier_never_raises_the_contextual_severity(
    f: Finding, ex: Exposure, other: Tier
) -> None:
    lower, upper = sorted((ex.tier, other))
    high = score(f, replace(ex, tier=upper), rules()).severity
    low = score(f, replace(ex, tier=lower), rules()).severity
    assert low <= high, (lower, upper, low, high)


def test_pending_suppressions_and_model_gaps_have_their_own_verdicts() -> None:
    """Below the threshold, a suppression under review and an unmodelled file say so."""
    from dataclasses import replace as _replace

    from triage.model import UNMODELLED, Suppression

    real = real_findings()
    low = next(f for f in real if f.native_severity == "LOW")
    policy = make_policy("severity", rules(), SecurityLevel.SL2)
    gap = policy.judge(score(low, UNMODELLED, rules()))
    assert gap.disposition == "model-gap" and "no threat-model component claims" in gap.reason
    assert not gap.must_fix
    pending = policy.judge(score(_replace(low, suppression=Suppression.PENDING), NO_MODEL,
                                 rules()))
    assert pending.disposition == "pending-review" and "underReview" in pending.reason
    assert policy.judge(score(low, NO_MODEL, rules())).disposition == "below-threshold"
