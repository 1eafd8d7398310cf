"""The ``triage`` command line: parse, call one pipeline function, render, exit.

This is the one place that maps exceptions to exit codes (DESIGN.md §11): 0 ok; 1 the gate
failed on findings (and only that); 2 usage; 3 bad input; 4 bad configuration or rules;
5 database; 70 internal error. Results go to stdout, summaries and errors to stderr.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from triage import __version__, pipeline
from triage.errors import TriageError, place
from triage.report import FORMATS, render
from triage.scoring import load_rules
from triage.store import open_store

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports when the reader of stdout went away (``| head``)."""


class OutputError(TriageError):
    """The report cannot be written where ``-o`` points: a usage error."""

    exit_code = EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (e.g. under CliRunner)
        pass


class TriageGroup(click.Group):
    """A click group that turns our exceptions into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; map errors to exit codes, never a traceback unless --debug."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            # Interrupted by the user: 128 + SIGINT, never 1 (that means the gate failed).
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader of stdout went away (`triage gate | head`): not a bug, and not exit
            # 1 either (that means the gate failed), so no traceback and 128 + SIGPIPE.
            _silence_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except TriageError as e:
            click.echo(f"error: {e}", err=True)
            if e.hint:
                click.echo(f"hint: {e.hint}", err=True)
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            ctx.exit(e.exit_code)
        except Exception as e:  # noqa: BLE001 - the last line of defence: a bug, exit 70
            click.echo(f"internal error: {type(e).__name__}: {e}", err=True)
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            else:
                click.echo("hint: run again with --debug for the traceback, and report it",
                           err=True)
            ctx.exit(EXIT_INTERNAL)


def _context(obj: dict[str, Any]) -> pipeline.Context:
    if "ctx" not in obj:
        rules = load_rules(Path(obj["rules"]) if obj.get("rules") else None)
        obj["ctx"] = pipeline.Context(store=open_store(obj.get("db")), rules=rules)
    return obj["ctx"]


def _say(obj: dict[str, Any], text: str) -> None:
    if not obj.get("quiet"):
        click.echo(text, err=True)


def _emit(text: str, output: str | None) -> None:
    """Write a rendered report to a file (only after it rendered) or stdout."""
    if output and output != "-":
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise OutputError(place(output, "", f"cannot write the report: {e.strerror or e}"),
                              hint="-o needs a writable file in an existing directory") from e
    else:
        click.echo(text, nl=not text.endswith("\n"))


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="TRIAGE_DB", help="Database URL or SQLite file [env TRIAGE_DB; "
              "default ./triage.db].")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False),
              help="Directory with your own severity.yaml / policy.yaml.")
@click.option("-q", "--quiet", is_flag=True, help="No summaries on stderr.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="triage")
@click.pass_context
def cli(ctx: click.Context, db: str | None, rules_dir: str | None, quiet: bool, verbose: int,
        debug: bool) -> None:
    """Risk-based triage of static-analysis findings after IEC 62443-4-1."""
    ctx.ensure_object(dict)
    ctx.obj.update(db=db, rules=rules_dir, quiet=quiet, verbose=verbose, debug=debug)
    ctx.call_on_close(lambda: ctx.obj["ctx"].store.close() if "ctx" in ctx.obj else None)


def _summary_line(product: str, release: str, sl: Any, must: dict, counts: dict) -> str:
    at = f"{must.get(sl, 0)} must-fix at {sl.label}" if sl else "no target SL"
    return (f"{product} {release}: {at} | " + " ".join(
        f"{k} {counts.get(k, 0)}" for k in ("new", "fixed", "persisting", "reintroduced")
    ) + (f" not-analysed {counts['not-analysed']}" if counts.get("not-analysed") else ""))


@cli.command()
@click.argument("sarif", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--product", required=True, help="Product name.")
@click.option("--release", required=True, help="Release name (a version).")
@click.option("--threat-model", type=click.Path(dir_okay=False), help="Threat model YAML.")
@click.option("--source-root", type=click.Path(file_okay=False),
              help="Source tree the scan ran on: makes paths relative, reads flagged lines.")
@click.option("--strip-prefix", multiple=True, help="Path prefix to strip from URIs.")
@click.option("--after", help="Place a new release right after this one.")
@click.pass_obj
def ingest(obj: dict, sarif: tuple[str, ...], product: str, release: str,
           threat_model: str | None, source_root: str | None, strip_prefix: tuple[str, ...],
           after: str | None) -> None:
    """Ingest SARIF logs for a release of a product."""
    result, must = pipeline.ingest(
        _context(obj), [Path(p) for p in sarif], product, release,
        threat_model=Path(threat_model) if threat_model else None,
        source_root=Path(source_root) if source_root else None,
        strip_prefixes=strip_prefix, after=after,
    )
    counts = dict(result.counts)
    for s in result.scans:
        again = " (already stored: no change)" if s.tool.name in result.skipped else ""
        health = "" if s.successful and not s.not_analysed else (
            f", {len(s.not_analysed)} file(s) not analysed" if s.successful else ", RUN FAILED")
        if obj.get("verbose"):
            _say(obj, f"  {s.tool.name} {s.tool.version}: {s.findings} findings{health}{again}")
        elif again or health:
            _say(obj, f"  {s.tool.name}: {s.findings} findings{health}{again}")
    _say(obj, _summary_line(product, release, result.release.target_sl, must, counts))


@cli.command()
@click.option("--product", required=True)
@click.option("--release", help="Release (default: the latest).")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (default: the model's).")
@click.pass_obj
def status(obj: dict, product: str, release: str | None, sl: int | None) -> None:
    """The must-fix table of a release and its counts."""
    report = pipeline.release_report(_context(obj), product, release, sl)
    _emit(render("table", report), None)
    counts = report.status_counts()
    _say(obj, _summary_line(product, report.release, report.sl,
                            dict(report.must_fix_by_sl), counts))


@cli.command()
@click.option("--product", required=True)
@click.option("--from", "old", required=True, help="Earlier release.")
@click.option("--to", "new", required=True, help="Later release.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.pass_obj
def diff(obj: dict, product: str, old: str, new: str, fmt: str, output: str | None) -> None:
    """New, fixed, persisting and reintroduced issues between two releases."""
    rows = pipeline.diff(_context(obj), product, old, new)
    _emit(render(fmt, rows), output)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    _say(obj, f"{product} {old} -> {new}: " + " ".join(f"{k} {v}" for k, v in
                                                       sorted(counts.items())))


@cli.command()
@click.option("--product", required=True)
@click.option("--release", help="Release (default: the latest).")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (default: the model's).")
@click.option("--mode", type=click.Choice(["severity"]), default="severity",
              help="SL policy mode.")
@click.option("--new-only", is_flag=True, help="Fail only on new or reintroduced findings.")
@click.pass_obj
def gate(obj: dict, product: str, release: str | None, sl: int | None, mode: str,
         new_only: bool) -> None:
    """Exit 1 if must-fix findings remain at the target SL."""
    result = pipeline.gate(_context(obj), product, release, sl, new_only)
    r = result.report
    for t in result.blocking:
        f = t.scored.finding
        click.echo(f"must-fix {t.scored.severity.label:8} {f.tool.name:8} {f.rule_id} "
                   f"{f.location.path}:{f.location.start_line or ''} (issue {t.issue_id})")
    verdict = "PASSED" if result.passed else "FAILED"
    scope = "new " if new_only else ""
    _say(obj, f"gate {verdict}: {len(result.blocking)} {scope}must-fix at {r.sl.label} in "
              f"{r.product} {r.release} ({r.policy})")
    if not result.passed:
        sys.exit(EXIT_GATE_FAILED)


@cli.command()
@click.option("--product", required=True)
@click.option("--release", help="Release (default: the latest).")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (default: the model's).")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="md")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.pass_obj
def report(obj: dict, product: str, release: str | None, sl: int | None, fmt: str,
           output: str | None) -> None:
    """The release report."""
    rep = pipeline.release_report(_context(obj), product, release, sl)
    _emit(render(fmt, rep), output)
    if output:
        _say(obj, f"wrote {fmt} release report of {product} {rep.release} to {output}")


@cli.command()
@click.option("--product", required=True)
@click.option("--sl", type=click.IntRange(1, 4), help="SL to highlight.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="md")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.pass_obj
def trend(obj: dict, product: str, sl: int | None, fmt: str, output: str | None) -> None:
    """The trend report across releases."""
    rep = pipeline.trend(_context(obj), product, sl)
    _emit(render(fmt, rep), output)
    if output:
        _say(obj, f"wrote {fmt} trend report of {product} ({len(rep.points)} releases) "
                  f"to {output}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="triage")
