"""Turn SARIF artifact URIs into repository-relative POSIX paths, and read flagged lines.

SARIF 3.4.3 allows absolute ``file://`` URIs, percent-encoding, and relative URIs whose base
is named by ``uriBaseId``; scanners write all of these. Every finding is stored under the
path a developer would type from the repository root, so threat-model globs match and
identity survives a change of build directory.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from triage.ingest.reader import MAX_TEXT

_DRIVE = re.compile(r"^/?([A-Za-z]):/")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
# A web view of a repository at a commit or branch: GitHub and Gitea ``/blob/REF/``,
# ``/tree/REF/`` and ``/raw/REF/``, GitLab ``/-/blob/REF/``, Bitbucket ``/src/REF/``.
_REPO_ROOT = re.compile(
    r"^https?://[^/?#]+/(?:[^/?#]+/)+?(?:-/)?(?:blob|tree|raw|src)/[^/?#]+/(?P<path>[^?#]*)$"
)


PATH_MAX = 4096
"""The longest path the system opens a file by (Linux's ``PATH_MAX``), in characters."""
MAX_SOURCE_BYTES = 64 << 20
"""The largest source file read to count a region's offsets in: no source file is larger."""


class PathNormaliser:
    """Normalise URIs against a source root and prefixes to strip; read lines safely."""

    def __init__(self, source_root: Path | None = None, strip_prefixes: tuple[str, ...] = ()):
        self.source_root = source_root.resolve() if source_root else None
        roots = [self._as_posix(str(self.source_root))] if self.source_root else []
        roots += [self._as_posix(p) for p in strip_prefixes]
        # Longest first, each ending in "/", so "/src/app" never eats "/src/application".
        self.prefixes = tuple(
            sorted({r.rstrip("/") + "/" for r in roots if r}, key=len, reverse=True)
        )
        self._lines = lru_cache(maxsize=256)(self._file_lines)
        # A log names each file many times: normalise each (uri, base) once.
        self.normalise = lru_cache(maxsize=65536)(self._normalise)  # type: ignore[method-assign]

    @staticmethod
    def _as_posix(text: str) -> str:
        text = text.replace("\\", "/")
        m = _DRIVE.match(text)
        if m:
            # Windows drive letters compare case-insensitively.
            text = "/" + m[1].lower() + ":/" + text[m.end() :]
        return text

    def normalise(self, uri: str, base: str = "") -> str:
        """Return the repository-relative POSIX path for ``uri`` (resolved against ``base``)."""
        return self._normalise(uri, base)

    def _normalise(self, uri: str, base: str = "") -> str:
        if base and not self._is_absolute(uri):
            uri = base.rstrip("/") + "/" + uri
        scheme = _SCHEME.match(uri)
        if scheme and scheme[1].lower() != "file":
            # SARIF 3.4.3: a base may be any absolute URI. A repository view at a commit
            # (SARIF SDK samples map SRCROOT to github.com/ORG/REPO/blob/SHA/) is the source
            # root, so what follows it is the repository-relative path; any other non-file
            # URI is kept exactly as written, never mangled by path normalisation.
            repo = _REPO_ROOT.match(uri)
            if not repo:
                return uri
            uri = repo["path"]
        elif uri.lower().startswith("file:"):
            try:
                parts = urlsplit(uri)
                uri = parts.path if not parts.netloc or parts.netloc == "localhost" else (
                    "//" + parts.netloc + parts.path
                )
            except ValueError:  # an unbalanced "[" in the host part: keep the path
                uri = re.sub(r"^file:(//[^/]*)?", "", uri, flags=re.IGNORECASE)
        uri = self._as_posix(unquote(uri))
        for prefix in self.prefixes:
            head = uri[: len(prefix)]
            if head == prefix or (_DRIVE.match(prefix) and head.lower() == prefix.lower()):
                uri = uri[len(prefix) :]
                break
        if uri.startswith("%SRCROOT%/"):
            uri = uri[len("%SRCROOT%/") :]
        absolute = uri.startswith("/")
        norm = posixpath.normpath(uri) if uri else ""
        if norm == ".":
            return ""
        if absolute and not norm.startswith("/"):
            norm = "/" + norm
        return norm

    @staticmethod
    def _is_absolute(uri: str) -> bool:
        return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri)) or uri.startswith("/")

    def read_lines(self, path: str, start: int, end: int) -> str:
        """Return lines ``start..end`` of ``path`` under the source root, or ``""``.

        Never reads outside the source root (a URI with ``..`` or an absolute path that the
        root does not contain yields nothing).
        """
        if not self.source_root or not path or path.startswith("/") or end < start:
            return ""
        lines = self._lines(path)
        if not lines or start < 1:
            return ""
        return "\n".join(lines[start - 1 : min(end, start + 50)])[:MAX_TEXT]

    def _file_lines(self, path: str) -> tuple[str, ...]:
        target = self.source_file(path)
        if target is None:
            return ()
        try:
            # Universal newlines make CR LF and CR an LF; lines end there and nowhere else,
            # as scanners count them (not at a form feed, which ``splitlines`` breaks at).
            lines = target.read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            return ()
        if lines[-1] == "":
            lines.pop()
        return tuple(lines)

    def source_bytes(self, path: str) -> bytes | None:
        """The bytes of ``path`` under the source root, what offsets are counted out in.

        None where ``source_file`` gives none, or above ``MAX_SOURCE_BYTES``.
        """
        target = self.source_file(path)
        try:
            if target is None or target.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return target.read_bytes()
        except OSError:
            return None

    def source_file(self, path: str) -> Path | None:
        """The file ``path`` names under the source root, or None.

        None without a source root, for an absolute path, and for one that resolves outside
        the root (``..``, a symbolic link out of it) or to no regular file.
        """
        if not self.source_root or not path or path.startswith("/") or len(path) > PATH_MAX:
            return None  # longer than any path a file can be opened by: resolving costs more
        try:
            target = (self.source_root / path).resolve()
            if not target.is_relative_to(self.source_root) or not target.is_file():
                return None
        except (OSError, ValueError):  # ValueError: a NUL byte (%00) in the path
            return None
        return target

    def line_hashes(self, path: str) -> str:
        """Short hashes of every whitespace-normalised line of ``path`` under the source root.

        Eight hex digits per line, concatenated: what a line diff between two releases needs,
        so the trees themselves are not needed later. ``""`` when the file is not there.
        """
        if not self.source_root or not path or path.startswith("/"):
            return ""
        return "".join(
            hashlib.blake2b(" ".join(line.split()).encode(), digest_size=4).hexdigest()
            for line in self._lines(path)
        )
