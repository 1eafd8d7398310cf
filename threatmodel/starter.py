"""A commented starter model (``triage threatmodel init``) that validates as it stands.

It describes a small controller with a Modbus/TCP server, a web UI behind a login and a
firmware update, so every section of schema v1 appears once with its meaning in a comment.
"""

from __future__ import annotations

STARTER_MODEL = """\
# Threat model of <your product>, schema v1 (IEC 62443-4-1 SR-2; see THREATMODEL.md).
# Check it with:   triage threatmodel validate threatmodel.yaml --source-root <your source tree>
# Look at it with: triage threatmodel show threatmodel.yaml
schema_version: 1

product:
  name: my-controller              # the product name used in reports
  target_sl: 2                     # SR-4 b): the SL-C you build for (1..4); the SL filter's
  security_context: docs/security-context.md   # SR-1: where the security context is written down

review:                            # SR-2: review the model at least yearly; older is a warning
  last_reviewed: {today}
  reviewed_by: ["<product security engineer>"]

zones:                             # IEC 62443-3-2 zones; trust: 0 untrusted .. 3 most trusted
  enterprise:  {{ description: "Plant IT", trust: 1 }}
  control-net: {{ description: "OT control network", trust: 2 }}
  device:      {{ description: "Inside the controller", trust: 3, parent: control-net }}

conduits:                          # channels between zones; firewall, ip-filter, vpn or
  c-ent-ctl:                       # data-diode make crossing cost the attacker effort
    zones: [enterprise, control-net]
    controls: [firewall]

entry_points:                      # where an attacker gets in; reach: internet | enterprise |
  ep-modbus:                       # adjacent | local | physical
    zone: control-net
    kind: network
    protocol: modbus-tcp
    port: 502
    authentication: none           # none, or what is needed: credentials, certificate, ...
    reach: adjacent
  ep-web:
    zone: enterprise
    kind: network
    protocol: https
    port: 443
    authentication: credentials
    reach: enterprise

components:                        # first component whose paths match a file claims it:
  tests:                           # put the narrow ones (tests, vendored code) first
    kind: test
    zone: device
    paths: ["test/**", "tests/**"]
  modbus-server:
    name: "Modbus/TCP server"
    kind: protocol-parser          # protocol-parser | web-server | firmware-update | authn |
    zone: device                   # crypto | config-import | process | datastore | library |
    paths: ["src/modbus/**"]       # external | tool | test; paths are gitignore-style globs
    exclude_paths: ["src/modbus/fuzz/**"]
    parses_untrusted_input: true
    legacy: true
    assets_processed: [setpoints]
  web-ui:
    kind: web-server
    zone: device
    paths: ["src/web/**"]
    parses_untrusted_input: true
    assets_processed: [config]
  control-task:
    kind: process
    zone: device
    paths: ["src/control/**"]
    assets_processed: [setpoints]
  tools:
    kind: tool
    zone: device
    paths: ["scripts/**"]
    out_of_scope: true
    justification_out_of_scope: "developer scripts, not shipped"

data_flows:                        # directed; authenticated hops and guarded conduits cost effort
  f-modbus:
    {{ source: ep-modbus, target: modbus-server, protocol: modbus-tcp, authentication: none,
      data_assets: [setpoints] }}
  f-control:
    {{ source: modbus-server, target: control-task, protocol: in-process,
      data_assets: [setpoints] }}
  f-web:
    {{ source: ep-web, target: web-ui, conduit: c-ent-ctl, protocol: https,
      authentication: credentials, encrypted: true, data_assets: [config] }}

assets:                            # Threagile scales; safety_relevant weighs I and A x1.5
  setpoints:
    {{ confidentiality: internal, integrity: mission-critical, availability: critical,
      quantity: few, safety_relevant: true }}
  config:
    {{ confidentiality: confidential, integrity: critical, availability: important,
      quantity: few }}

scan_scope:                        # SM-5: what the first scanning phase covers, and why
  phase: 1
  include_tiers: [critical, high]
  always_include_changed_code: true   # SI-1
  justification: "<why this scope is acceptable, and who approved it>"
"""
"""The starter text, with ``{today}`` to fill in."""


def starter_model(today: str) -> str:
    """The commented starter model, reviewed ``today`` (an ISO date)."""
    return STARTER_MODEL.format(today=today)
