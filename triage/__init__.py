"""triage: risk-based triage of static-analysis findings after IEC 62443-4-1."""

from __future__ import annotations

import functools


@functools.cache
def package_version() -> str:
    """The package's version, from its installed metadata, read when first asked.

    Not at import: importing ``importlib.metadata`` costs a command that does not open the
    store (``--help``, ``--version``) about 13 ms, and only ``--version`` and the reports
    ask.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("iec62443-triage")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
