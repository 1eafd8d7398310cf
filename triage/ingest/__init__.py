"""Ingest: read SARIF 2.1.0 logs into Finding records."""
