"""The ``triage`` command line: parse, call one pipeline function, render, exit.

This is the one place that maps exceptions to exit codes (DESIGN.md §11): 0 ok; 1 the gate
failed on findings (and only that); 2 usage; 3 bad input; 4 bad configuration or rules;
5 database; 70 internal error. Results go to stdout, summaries and errors to stderr.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

# The store (SQLAlchemy) and the IEC plan are imported where used, and the report formats
# load on first render: `triage --help` and `triage ingest` start without what they don't run.
from triage import package_version, pipeline
from triage.errors import BadInputError, TriageError, place
from triage.files import write_atomic
from triage.model import Action, Decision
from triage.report import FORMATS, RELEASE_ONLY, render, render_for_terminal
from triage.report.explain import EXPLAIN_FORMATS
from triage.scoring import MODES, load_rules

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
            try:
                if _AS_COMMAND[0] == "early":  # the start-up's own answer to Ctrl-C ends here
                    _AS_COMMAND[0] = "answered"
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                return super().invoke(ctx)
            finally:
                _settled()  # before the answer below is given
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            # Interrupted by the user: 128 + SIGINT, never 1 (that means the gate failed).
            # A write that committed before the interrupt stays: say so.
            store = ctx.obj["ctx"].store if ctx.obj and "ctx" in ctx.obj else None
            click.echo("interrupted after the command's changes were stored"
                       if store is not None and store.committed else "interrupted", err=True)
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
        from triage.store import open_store

        rules = load_rules(Path(obj["rules"]) if obj.get("rules") else None)
        obj["ctx"] = pipeline.Context(store=open_store(obj.get("db")), rules=rules)
    return obj["ctx"]


def _scope(scope: str | None, changed_files: str | None, git_range: str | None = None) -> Any:
    """``--scope``, ``--changed-files`` and ``--git-range`` as the pipeline's scope (SM-5).

    ``None`` when none is given: the release's recorded phase applies.
    """
    if scope is None and not changed_files and not git_range:
        return None
    return pipeline.load_scope(scope or "all", Path(changed_files) if changed_files else None,
                               git_range=git_range)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the installed metadata is read only when asked (start-up stays short)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"triage, version {package_version()}")
        ctx.exit()


def _say(obj: dict[str, Any], text: str) -> None:
    if not obj.get("quiet"):
        click.echo(text, err=True)


class _ReadingBar:
    """Draws ingest's ``progress(done, total)`` as a bar on stderr; the library only counts."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label="reading SARIF",
                                         file=sys.stderr)
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()


def _reading_bar(obj: dict[str, Any]) -> _ReadingBar | None:
    """A bar for long reads, unless -q or stderr is not a terminal (CI logs, pipes)."""
    return None if obj.get("quiet") or not sys.stderr.isatty() else _ReadingBar()


class _LazyChoice(click.Choice):
    """A ``click.Choice`` whose names come from a registry imported only when they are read.

    The command's help, parsing and completion see the names as with a plain ``Choice``;
    every other command starts without the registry's module.
    """

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._names = names
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        """The registry's names, sorted."""
        return tuple(sorted(self._names()))

    @choices.setter
    def choices(self, _: Any) -> None:
        """Ignore the names ``click.Choice`` sets: they are read from the registry."""


def _colour() -> bool:
    """Colour on a terminal only, and never with NO_COLOR set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _emit(text: str, output: str | None) -> None:
    """Write a rendered report to a file (only after it rendered, atomically) or stdout."""
    if output and output != "-":
        try:
            write_atomic(Path(output), text)
        except OSError as e:
            raise OutputError(place(output, "", f"cannot write the report: {e.strerror or e}"),
                              hint="-o needs a writable file in an existing directory") from e
    else:
        click.echo(text, nl=not text.endswith("\n"))


def _ingest_options(command: Any) -> Any:
    """The options ``ingest`` and ``run`` share: the logs, the release and how to read them."""
    for option in reversed((
        click.argument("sarif", nargs=-1, required=True, type=click.Path(dir_okay=False)),
        click.option("--product", required=True, help="Product name."),
        click.option("--release", required=True, help="Release name (a version)."),
        click.option("--threat-model", type=click.Path(dir_okay=False),
                     help="Threat model YAML [default: the one of the product's releases]."),
        click.option("--source-root", type=click.Path(file_okay=False),
                     help="Source tree the scan ran on: makes paths relative, reads flagged "
                          "lines, keeps line hashes for the next release's line diff."),
        click.option("--strip-prefix", multiple=True, help="Path prefix to strip from URIs."),
        click.option("--released", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
                     help="Release date (default: today for a new release; replaces a stored "
                          "date)."),
    )):
        command = option(command)
    return command


def _scope_options(command: Any) -> Any:
    """``--scope`` and ``--changed-files`` (SM-5, SI-1), as every judging command takes them."""
    command = click.option("--changed-files", type=click.Path(dir_okay=False),
                           help="Files changed since the previous release, one a line: always "
                                "in scope (SI-1).")(command)
    return click.option("--scope", help="SM-5 scope phase: all, high-risk, or a file of path "
                        "globs (gate and run record it) [default: the release's recorded "
                        "phase, else all].")(command)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="TRIAGE_DB", help="Database URL or SQLite file [env TRIAGE_DB; "
              "default ./triage.db].")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False),
              help="Directory with your own severity.yaml (applied when findings are ingested) "
                   "and policy.yaml (applied by every command).")
@click.option("-q", "--quiet", is_flag=True, help="No summaries on stderr.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version,
              help="Show the version and exit.")
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
@_ingest_options
@click.option("--after", help="Place a new release right after this one.")
@click.pass_obj
def ingest(obj: dict, sarif: tuple[str, ...], product: str, release: str,
           threat_model: str | None, source_root: str | None, strip_prefix: tuple[str, ...],
           after: str | None, released: dt.datetime | None) -> None:
    """Ingest SARIF logs for a release of a product."""
    bar = _reading_bar(obj)
    try:
        result, must = pipeline.ingest(
            _context(obj), [Path(p) for p in sarif], product, release,
            threat_model=Path(threat_model) if threat_model else None,
            source_root=Path(source_root) if source_root else None,
            strip_prefixes=strip_prefix, after=after, progress=bar,
            released=released.date() if released else None,
        )
    finally:
        if bar is not None:
            bar.close()
    counts = dict(result.counts)
    for note in result.notes:
        _say(obj, f"  {note}")
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
@click.option("--mode", type=click.Choice(MODES), default="severity", help="SL policy mode.")
@_scope_options
@click.option("--git-range", help="A..B: files git says changed are always in scope (SI-1).")
@click.pass_obj
def status(obj: dict, product: str, release: str | None, sl: int | None, mode: str,
           scope: str | None, changed_files: str | None, git_range: str | None) -> None:
    """The must-fix table of a release and its counts."""
    report = pipeline.release_report(_context(obj), product, release, sl, mode=mode,
                                     scope=_scope(scope, changed_files, git_range))
    _emit(render_for_terminal("table", report, _colour()), None)
    counts = report.status_counts()
    _say(obj, _summary_line(product, report.release, report.sl,
                            dict(report.must_fix_by_sl), counts))


@cli.command()
@click.option("--product", required=True)
@click.option("--from", "old", required=True, help="Earlier release.")
@click.option("--to", "new", required=True, help="Later release.")
@click.option("--format", "fmt", type=click.Choice(sorted(set(FORMATS) - RELEASE_ONLY)),
              default="table")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.pass_obj
def diff(obj: dict, product: str, old: str, new: str, fmt: str, output: str | None) -> None:
    """New, fixed, persisting and reintroduced issues between two releases."""
    rows = pipeline.diff(_context(obj), product, old, new)
    _emit(render_for_terminal(fmt, rows, not output and _colour()), output)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    _say(obj, f"{product} {old} -> {new}: " + " ".join(f"{k} {v}" for k, v in
                                                       sorted(counts.items())))


@cli.command()
@click.option("--product", required=True)
@click.option("--release", help="Release (default: the latest).")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (default: the model's).")
@click.option("--mode", type=click.Choice(MODES), default="severity",
              help="SL policy mode.")
@click.option("--new-only", is_flag=True, help="Fail only on new or reintroduced findings.")
@_scope_options
@click.option("--git-range", help="A..B: files git says changed are always in scope (SI-1).")
@click.pass_obj
def gate(obj: dict, product: str, release: str | None, sl: int | None, mode: str,
         new_only: bool, scope: str | None, changed_files: str | None,
         git_range: str | None = None) -> None:
    """Exit 1 if must-fix findings remain at the target SL."""
    result = pipeline.gate(_context(obj), product, release, sl, new_only, mode,
                           _scope(scope, changed_files, git_range))
    r = result.report
    for t in result.blocking:
        f = t.scored.finding
        click.echo(f"must-fix {t.scored.severity.label:8} {f.tool.name:8} {f.rule_id} "
                   f"{f.location.path}:{f.location.start_line or ''} (issue {t.issue_id})")
        click.echo(f"  why: {t.verdict.reason}")
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
@click.option("--mode", type=click.Choice(MODES), default="severity", help="SL policy mode.")
@_scope_options
@click.option("--git-range", help="A..B: files git says changed are always in scope (SI-1).")
@click.pass_obj
def report(obj: dict, product: str, release: str | None, sl: int | None, fmt: str,
           output: str | None, mode: str, scope: str | None, changed_files: str | None,
           git_range: str | None) -> None:
    """The release report."""
    rep = pipeline.release_report(_context(obj), product, release, sl, mode=mode,
                                  scope=_scope(scope, changed_files, git_range))
    _emit(render_for_terminal(fmt, rep, not output and _colour()), output)
    if output:
        _say(obj, f"wrote {fmt} release report of {product} {rep.release} to {output}")


@cli.command()
@click.option("--product", required=True)
@click.option("--sl", type=click.IntRange(1, 4), help="SL to highlight.")
@click.option("--format", "fmt", type=click.Choice(sorted(set(FORMATS) - RELEASE_ONLY)),
              default="md")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.option("--threat-model", type=click.Path(dir_okay=False),
              help="Count the high-risk components of this model (default: those with findings).")
@click.option("--charts", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write the trend's charts as PNG files into DIR (created if missing).")
@click.pass_obj
def trend(obj: dict, product: str, sl: int | None, fmt: str, output: str | None,
          threat_model: str | None, charts: str | None) -> None:
    """The trend report across releases."""
    rep = pipeline.trend(_context(obj), product, sl,
                         threat_model=Path(threat_model) if threat_model else None)
    text = render_for_terminal(fmt, rep, not output and _colour())
    written: list[Path] = []
    if charts:
        # The PNG writer, and matplotlib with it, loads only when --charts asks for it.
        from triage.report.png import write_trend_charts

        try:
            written = write_trend_charts(rep, Path(charts))
        except OSError as e:
            raise OutputError(place(charts, "", f"cannot write the charts: {e.strerror or e}"),
                              hint="--charts needs a directory that can be created and "
                                   "written") from e
    _emit(text, output)
    if output:
        _say(obj, f"wrote {fmt} trend report of {product} ({len(rep.points)} releases) "
                  f"to {output}")
    if written:
        _say(obj, f"wrote {len(written)} trend charts (PNG) to {charts}: "
                  + ", ".join(p.name for p in written))


# ---- decisions (DM-3, DM-4) ---------------------------------------------------------------

_ACTIONS = {
    "confirm": Action.CONFIRMED,
    "false_positive": Action.FALSE_POSITIVE,
    "accept_risk": Action.ACCEPTED_RISK,
    "defer": Action.DEFERRED,
    "reopen": Action.REOPENED,
}


def _default_user() -> str:
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        login = ""
    return os.environ.get("TRIAGE_USER") or login or "unknown"


@cli.command()
@click.argument("issue_id", type=click.IntRange(1))
@click.option("--confirm", is_flag=True, help="A real issue: must fix at every SL.")
@click.option("--false-positive", is_flag=True, help="Not a real issue.")
@click.option("--accept-risk", is_flag=True,
              help="Accept the residual risk until --expires; --by names the approver.")
@click.option("--defer", is_flag=True, help="Fix in --target-release.")
@click.option("--reopen", is_flag=True, help="Back to the policy's verdict.")
@click.option("--reason", required=True, help="Why (recorded in the history).")
@click.option("--by", help="Who decides [env TRIAGE_USER, else the login name].")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Last day an accepted risk holds.")
@click.option("--target-release", help="Release a deferral points to.")
@click.option("--release", help="Release the decision is taken on [default: the newest].")
@click.pass_obj
def decide(obj: dict, issue_id: int, confirm: bool, false_positive: bool, accept_risk: bool,
           defer: bool, reopen: bool, reason: str, by: str | None, expires: Any,
           target_release: str | None, release: str | None) -> None:
    """Record a triage decision on a tracked issue; it follows the issue into later releases."""
    chosen = [name for name, on in (("confirm", confirm), ("false_positive", false_positive),
                                    ("accept_risk", accept_risk), ("defer", defer),
                                    ("reopen", reopen)) if on]
    if len(chosen) != 1:
        raise click.UsageError("choose exactly one of --confirm, --false-positive, "
                               "--accept-risk, --defer, --reopen")
    action = _ACTIONS[chosen[0]]
    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")
    ctx = _context(obj)
    if action == Action.ACCEPTED_RISK:
        # DM-4: an accepted residual risk has an approver and an end, reviewed when it comes.
        if expires is None or not by:
            raise click.UsageError("--accept-risk needs --expires YYYY-MM-DD and --by APPROVER")
        if expires.date() < ctx.clock().date():
            raise click.BadParameter(f"{expires.date()} is already past", param_hint="--expires")
    if action == Action.DEFERRED and not target_release:
        raise click.UsageError("--defer needs --target-release R")
    d = pipeline.decide(ctx, Decision(
        issue_id=issue_id, action=action, reason=reason, by=by or _default_user(),
        at=ctx.clock(), expires=expires.date() if expires else None,
        target_release=target_release or ""), release)
    until = (f" until {d.expires}" if d.expires else "") + (
        f" to {d.target_release}" if d.target_release else "")
    _say(obj, f"issue {d.issue_id}: {d.action.value}{until} by {d.by} (decision {d.decision_id})")


@cli.group()
def decisions() -> None:
    """Decisions as code: export and import a YAML file reviewed in pull requests."""


@decisions.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--product", required=True)
@click.pass_obj
def decisions_export(obj: dict, file: str, product: str) -> None:
    """Write the product's current decisions to FILE (- for stdout)."""
    text = pipeline.export_decisions(_context(obj), product)
    _emit(text, file)
    if file != "-":
        _say(obj, f"wrote the decisions of {product} to {file}")


@decisions.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def decisions_import(obj: dict, file: str) -> None:
    """Apply FILE: new decisions are appended; conflicts are reported, never overwritten."""
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"{file}: cannot read: {e}") from e
    result = pipeline.import_decisions(_context(obj), text, path.name)
    for line in result.conflicts:
        click.echo(f"conflict: {line}", err=True)
    _say(obj, f"{result.product}: {len(result.added)} decision(s) added, {result.unchanged} "
              f"unchanged, {len(result.conflicts)} conflict(s)")


@decisions.command("history")
@click.argument("issue_id", type=click.IntRange(1))
@click.pass_obj
def decisions_history(obj: dict, issue_id: int) -> None:
    """Print every decision on an issue, oldest first."""
    for d in pipeline.decision_history(_context(obj), issue_id):
        extra = (f" expires {d.expires}" if d.expires else "") + (
            f" target {d.target_release}" if d.target_release else "")
        click.echo(f"{d.at.isoformat()} {d.action.value:15} {d.by}: {d.reason}{extra}")


# ---- IEC 62443-4-1 legacy plan ----


@cli.group("iec")
def iec_group() -> None:
    """IEC 62443-4-1 for a legacy product: requirements, answers template, plan."""


def _requirement_formats() -> Iterable[str]:
    from triage import iec

    return iec.REQUIREMENT_FORMATS


def _plan_formats() -> Iterable[str]:
    from triage import iec

    return iec.PLAN_FORMATS


@iec_group.command("requirements")
@click.option("--format", "fmt", type=_LazyChoice(_requirement_formats), default="table")
@click.pass_obj
def iec_requirements(obj: dict, fmt: str) -> None:
    """The 47 requirements with the most likely method for a legacy product."""
    from triage import iec

    table = iec.load_requirements()
    _emit(iec.render_requirements(fmt, table), None)
    _say(obj, f"{len(table.requirements)} requirements of IEC 62443-4-1 ({table.source})")


@iec_group.command("template")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def iec_template(obj: dict, output: str | None, force: bool) -> None:
    """A YAML answers file: every requirement and the four questions, commented."""
    if output and output != "-" and Path(output).exists() and not force:
        raise OutputError(place(output, "", "exists; not overwriting an answers file"),
                          hint="pass --force to overwrite it")
    from triage import iec

    _emit(iec.render_template(iec.load_requirements()), output)
    if output and output != "-":
        _say(obj, f"wrote the answers template to {output}")


@iec_group.command("plan")
@click.argument("answers", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=_LazyChoice(_plan_formats), default="table")
@click.option("--product", help="Answer question 4 and link evidence from this product's "
                                "releases in the store (--db).")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
@click.pass_obj
def iec_plan(obj: dict, answers: str, fmt: str, product: str | None,
             output: str | None) -> None:
    """Turn an answers file into the plan: approach, actions, evidence, flags."""
    from triage import iec

    if product:
        ctx = _context(obj)
        plan = pipeline.iec_plan(Path(answers), ctx.rules, ctx.store, product, ctx.clock)
    else:
        rules = load_rules(Path(obj["rules"]) if obj.get("rules") else None)
        plan = pipeline.iec_plan(Path(answers), rules)
    _emit(iec.render_plan(fmt, plan), output)
    counts = ", ".join(f"{n} {a}" for a, n in plan.approach_counts().items() if n)
    kinds: dict[str, int] = {}
    for f in plan.flags:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    _say(obj, f"plan: {len(plan.items)} requirements: {counts}; {len(plan.flags)} flags"
              + (f" ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
                 if kinds else ""))


# ---- threat model ----------------------------------------------------------------------------
@cli.group("threatmodel")
def threatmodel_group() -> None:
    """Validate, show and draw a threat model; its scan scope and source coverage."""


_MODEL_FILE = click.Path(dir_okay=False)
_SOURCE_ROOT = click.Path(exists=True, file_okay=False)


@threatmodel_group.command("validate")
@click.argument("file", type=_MODEL_FILE)
@click.option("--source-root", type=_SOURCE_ROOT, help="Warn about globs matching no file here.")
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings.")
@click.pass_obj
def threatmodel_validate(obj: dict, file: str, source_root: str | None, strict: bool) -> None:
    """Check a model against schema v1; warnings on stdout, the summary on stderr."""
    check = pipeline.check_threat_model(Path(file), Path(source_root) if source_root else None)
    for w in check.warnings:
        click.echo(f"warning: {w}")
    _say(obj, check.summary())
    if strict and check.warnings:
        raise BadInputError(f"{file}: {len(check.warnings)} warning(s) with --strict",
                            hint="fix the warnings above, or drop --strict")


@threatmodel_group.command("show")
@click.argument("file", type=_MODEL_FILE)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def threatmodel_show(file: str, fmt: str) -> None:
    """Components with tier, exposure, asset value and why (* marks the high-risk ones)."""
    _emit(pipeline.show_threat_model(Path(file), fmt), None)


@threatmodel_group.command("graph")
@click.argument("file", type=_MODEL_FILE)
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot")
@click.option("-o", "--output", help="Write to this file instead of stdout.")
def threatmodel_graph(file: str, fmt: str, output: str | None) -> None:
    """The model as a picture: zones as clusters, high-risk components marked."""
    _emit(pipeline.show_threat_model(Path(file), fmt), output)


@threatmodel_group.command("scope")
@click.argument("file", type=_MODEL_FILE)
@click.pass_obj
def threatmodel_scope(obj: dict, file: str) -> None:
    """Path globs of the high-risk components, one per line, to feed a scanner (SM-5)."""
    globs = pipeline.threat_model_scope(Path(file))
    for glob in globs:
        click.echo(glob)
    _say(obj, f"{len(globs)} glob(s) of the components with tier high or critical")


@threatmodel_group.command("init")
@click.argument("file", type=click.Path(dir_okay=False), default="threatmodel.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def threatmodel_init(obj: dict, file: str, force: bool) -> None:
    """Write a commented starter model (FILE, default threatmodel.yaml; - for stdout)."""
    if file != "-" and Path(file).exists() and not force:
        raise OutputError(f"{file}: exists", hint="pass --force to overwrite it")
    _emit(pipeline.starter_threat_model(), file)
    if file != "-":
        _say(obj, f"wrote a starter threat model to {file}; edit it, then run "
                  f"`triage threatmodel validate {file}`")


@threatmodel_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="-", help="Write the YAML here (default stdout).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.pass_obj
def threatmodel_import(obj: dict, file: str, output: str, force: bool) -> None:
    """Convert an OWASP Threat Dragon v2 JSON model to schema v1 (fill in the paths)."""
    if output != "-" and Path(output).exists() and not force:
        raise OutputError(f"{output}: exists", hint="pass --force to overwrite it")
    text = pipeline.import_threat_dragon(Path(file))
    _emit(text, output)
    if output != "-":
        _say(obj, f"wrote {output}: replace every FILL-ME glob with the component's source "
                  f"paths, then run `triage threatmodel validate {output} --source-root DIR`")


@threatmodel_group.command("coverage")
@click.argument("file", type=_MODEL_FILE)
@click.option("--source-root", type=_SOURCE_ROOT, required=True, help="The source tree.")
@click.pass_obj
def threatmodel_coverage(obj: dict, file: str, source_root: str) -> None:
    """Source files that fall in no component, one per line."""
    cov = pipeline.threat_model_coverage(Path(file), Path(source_root))
    for path in cov.unmatched:
        click.echo(path)
    if obj.get("verbose"):
        for cid, n in cov.per_component:
            _say(obj, f"  {cid}: {n} file(s)")
    _say(obj, cov.summary())
# ---- end threat model ------------------------------------------------------------------------


# ---- scoring and policy ----------------------------------------------------------------------


@cli.command()
@click.argument("issue_id", type=int)
@click.option("--product", required=True, help="Product the issue belongs to.")
@click.option("--release", help="Release (default: the latest one the issue occurs in).")
@click.option("--format", "fmt", type=click.Choice(sorted(EXPLAIN_FORMATS)), default="text")
@click.pass_obj
def explain(obj: dict, issue_id: int, product: str, release: str | None, fmt: str) -> None:
    """The whole chain behind one issue's verdicts, at every SL in every mode."""
    result = pipeline.explain(_context(obj), product, issue_id, release)
    _emit(EXPLAIN_FORMATS[fmt](result), None)


# ---- end scoring and policy ------------------------------------------------------------------


# ---- reports and CI ----------------------------------------------------------------------


def _targets(values: tuple[str, ...], option: str, allowed: set[str]) -> list[tuple[str, str]]:
    """Parse repeated ``FORMAT=PATH`` options; the directory must exist before any work."""
    out = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or not path or fmt not in allowed:
            raise click.BadParameter(
                f"{value!r}: expected FORMAT=PATH, FORMAT one of {', '.join(sorted(allowed))}",
                param_hint=option)
        if not Path(path).parent.is_dir():
            raise click.BadParameter(f"{value!r}: no directory {str(Path(path).parent)!r}",
                                     param_hint=option)
        out.append((fmt, path))
    return out


@cli.command("run")
@_ingest_options
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (default: the model's).")
@click.option("--mode", type=click.Choice(pipeline.MODES), default="severity",
              help="SL policy mode.")
@click.option("--new-only", is_flag=True, help="Fail only on new or reintroduced findings.")
@_scope_options
@click.option("--report", "reports", multiple=True, metavar="FORMAT=PATH",
              help="Write the release report in FORMAT to PATH (repeatable).")
@click.option("--trend", "trends", multiple=True, metavar="FORMAT=PATH",
              help="Write the trend report in FORMAT to PATH (repeatable).")
@click.pass_obj
def run_command(obj: dict, sarif: tuple[str, ...], product: str, release: str,
                threat_model: str | None, source_root: str | None,
                strip_prefix: tuple[str, ...], sl: int | None, mode: str, new_only: bool,
                scope: str | None, changed_files: str | None, reports: tuple[str, ...],
                trends: tuple[str, ...], released: dt.datetime | None) -> None:
    """One-shot for CI: ingest, judge the release, write the reports, exit with the gate's code.

    Exit 0 when nothing blocks the release, 1 when must-fix findings remain.
    """
    release_to = _targets(reports, "--report", set(FORMATS))
    trend_to = _targets(trends, "--trend", set(FORMATS) - RELEASE_ONLY)
    bar = _reading_bar(obj)
    try:
        result = pipeline.run(
            _context(obj), [Path(p) for p in sarif], product, release,
            threat_model=Path(threat_model) if threat_model else None,
            source_root=Path(source_root) if source_root else None,
            strip_prefixes=strip_prefix, sl=sl, mode=mode, new_only=new_only,
            with_trend=bool(trend_to), scope=_scope(scope, changed_files),
            released=released.date() if released else None, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    # Render everything before writing anything: a failing format leaves no file behind.
    rendered = [(render(fmt, result.gate.report), fmt, path, "release") for fmt, path in release_to]
    rendered += [(render(fmt, result.trend), fmt, path, "trend") for fmt, path in trend_to]
    for text, fmt, path, kind in rendered:
        _emit(text, path)
        _say(obj, f"wrote {fmt} {kind} report to {path}")
    r = result.gate.report
    _say(obj, _summary_line(product, release, r.sl, dict(r.must_fix_by_sl),
                            dict(result.ingested.counts)))
    # The gate's own output and exit code, so `run` and `gate` never tell different stories.
    click.get_current_context().invoke(gate, product=product, release=release, sl=sl,
                                       mode=mode, new_only=new_only, scope=scope,
                                       changed_files=changed_files)


# ---- end reports and CI ------------------------------------------------------------------


def main(*, answered_early: bool = False) -> None:
    """Run the CLI as a command (``triage.__main__`` loads it and calls this).

    ``answered_early``: the start-up's handler still answers Ctrl-C (exit 130, nothing is
    open yet); the command's own code takes over when it begins, so click never sees an
    interrupt while it parses the arguments. Once the command is done (or failed), Ctrl-C
    no longer interrupts: what it stored is committed, and an interrupt would only break
    the answer and the closing of connections (click would say "Aborted!" and exit 1). A
    Ctrl-C that lands in a finaliser, which Python can only report and drop, is raised
    again in the command's own code, which answers it (exit 130).
    """
    sys.unraisablehook = _unraisable
    _AS_COMMAND[0] = "early" if answered_early else "answered"
    cli(prog_name="triage")


_AS_COMMAND: list[str | None] = [None]
"""How the CLI runs: ``None`` in a test's process; as the command (``main``), "early" while
the start-up's handler answers Ctrl-C, then "answered" (Python's own KeyboardInterrupt)."""


def _unraisable(unraisable: Any) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # Raised in this hook, the interrupt would be dropped again: it is sent once the
        # hook has returned to the code that was running. A bare thread: ``threading``'s
        # bookkeeping takes a lock that the interrupted code may hold.
        import _thread
        import threading

        with contextlib.suppress(RuntimeError):  # no new thread at interpreter shutdown
            _thread.start_new_thread(_interrupt_after, (sys._getframe(),
                                                        threading.main_thread().ident or 0))
        return
    sys.__unraisablehook__(unraisable)


def _interrupt_after(hook: Any, main: int) -> None:
    """Send SIGINT to this process once thread ``main`` has left the frame ``hook``."""
    import time

    while True:
        frame = sys._current_frames().get(main)
        while frame is not None and frame is not hook:
            frame = frame.f_back
        if frame is None:
            break
        time.sleep(0.001)
    del hook, frame
    os.kill(os.getpid(), signal.SIGINT)


def _settled() -> None:
    """The command has its outcome: from here on a Ctrl-C is ignored (see ``main``)."""
    if _AS_COMMAND[0]:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
