"""Data shipped with triage: severity maps, SL policies and requirement tables (YAML)."""
