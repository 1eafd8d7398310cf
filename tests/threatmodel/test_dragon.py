"""Import of OWASP Threat Dragon v2 JSON: elements, geometric zones, threats, and bad files.

``data/dragon-rtu.json`` has the shape Threat Dragon 2.3 writes (``shape``, ``data.type``,
``source.cell``, threats with ``id`` under ``data.threats``, boundary boxes placed by
position and size, a boundary curve, a text block, a dangling flow, two diagrams).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from test_loader import ERROR

from threatmodel import (
    ModelError,
    check_model,
    component_risks,
    convert_threat_dragon,
    import_threat_dragon,
    parse_model,
)

DRAGON = Path(__file__).parent / "data" / "dragon-rtu.json"


@pytest.fixture(scope="module")
def imported() -> str:
    return import_threat_dragon(DRAGON)


def test_import_gives_a_valid_model(imported: str) -> None:
    model = parse_model(imported, "rtu.yaml")
    assert model.product == "RTU-5000 (Threat Dragon)"
    assert [e.id for e in model.entry_points] == ["ep-scada-master", "ep-vendor-cloud"]
    assert [c.id for c in model.components] == [
        "modbus-server", "web-ui", "firmware-updater", "config-store", "syslog-forwarder"]
    kinds = {c.id: c.kind for c in model.components}
    assert kinds["web-ui"] == "web-server"  # isWebApplication
    assert kinds["config-store"] == "datastore"  # tm.Store
    fw = model.component("firmware-updater")
    assert fw.out_of_scope and fw.justification == "supplied and certified by the SoC vendor"
    flows = {f.id: f for f in model.data_flows}
    assert set(flows) == {"f-modbus-requests", "f-remote-support", "f-save-config",
                          "f-modbus-writes"}
    remote = flows["f-remote-support"]
    assert (remote.source, remote.target, remote.encrypted, remote.bidirectional) == (
        "ep-vendor-cloud", "web-ui", True, True)
    assert all(f.authentication == "none" for f in flows.values())  # conservative


def test_zones_come_from_boxes_by_geometry(imported: str) -> None:
    model = parse_model(imported, "rtu.yaml")
    zones = {z.id: (z.trust, z.parent) for z in model.zones}
    assert zones == {"z-outside": (0, ""), "z-plant-network": (1, ""),
                     "z-rtu": (2, "z-plant-network")}
    placed = {c.id: c.zone for c in model.components}
    assert placed["modbus-server"] == "z-rtu"
    # The second diagram has no boxes: its element is outside, whatever its coordinates.
    assert placed["syslog-forwarder"] == "z-outside"
    eps = {e.id: e for e in model.entry_points}
    assert eps["ep-scada-master"].zone == "z-plant-network"
    assert eps["ep-vendor-cloud"].zone == "z-outside"
    # A public-network flow makes its actor an internet entry point.
    assert (eps["ep-vendor-cloud"].reach, eps["ep-scada-master"].reach) == ("internet",
                                                                          "adjacent")


def test_threats_paths_and_skips_are_comments(imported: str) -> None:
    lines = imported.splitlines()
    assert "    # threat: Unauthenticated write (Open, Critical, Tampering)" in lines
    assert "  # threat: Session hijack (Open, High, Spoofing)" in lines
    assert '    paths: ["FILL-ME/web-ui/**"]   # fill in: its source globs' \
        in lines
    assert ("#   boundary curve 'Internet edge': a line, it contains nothing; draw a box to "
            "make a zone") in lines
    assert "#   flow 'Dangling' in diagram 0: an end is not attached to an actor, process or " \
           "store" in lines
    assert "text block" not in imported.lower()
    # Comments are comments: the YAML holds no threat key.
    assert "threat" not in json.dumps(yaml.safe_load(imported))


def test_imported_model_scores_and_warns_about_paths(imported: str, tmp_path: Path) -> None:
    risks = component_risks(parse_model(imported, "rtu.yaml"))
    assert risks["web-ui"].exposure == 5  # internet, unauthenticated until the user says
    assert risks["modbus-server"].exposure == 3
    path = tmp_path / "rtu.yaml"
    path.write_text(imported, encoding="utf-8")
    (tmp_path / "src").mkdir()
    check = check_model(path, dt.date(2026, 1, 1), source_root=tmp_path / "src")
    assert sum("FILL-ME/" in w.message for w in check.warnings) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"summary": {}, "detail": {"diagrams": [',
         "line 1 column 41: JSON error: Expecting value"),
        ('{\n  "detail": {"diagrams": 3}\n}', "line 2 column 14: detail.diagrams: expected a "
                                              "list of diagrams"),
        ("[1, 2]", "line 1 column 1: detail.diagrams: expected a list"),
        ('{"detail": {"diagrams": [{"cells": []}]}}',
         "line 1 column 27: detail.diagrams: no process or store"),
    ],
)
def test_bad_files_are_one_line_errors(text: str, expected: str) -> None:
    with pytest.raises(ModelError) as info:
        convert_threat_dragon(text, "td.json")
    message = str(info.value)
    assert ERROR.match(message), message
    assert message.startswith(f"td.json: {expected}"), message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        import_threat_dragon(tmp_path / "none.json")
