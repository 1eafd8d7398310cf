"""triage: risk-based triage of static-analysis findings after IEC 62443-4-1."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iec62443-triage")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
