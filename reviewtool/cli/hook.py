"""`reviewtool hook`: install, remove and run git send-email's sendemail-validate hook."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reviewtool.cli import common
from reviewtool.cli.options import (
    ConfiguredFailOnOption,
    ConfiguredRuleOption,
    ConfiguredTreeOption,
    FailOn,
    Group,
    RepoOption,
    Toolchain,
)
from reviewtool.errors import ExitCode, InputError
from reviewtool.git import forget_location

hook_app = typer.Typer(
    help="git send-email's sendemail-validate hook: audit the outgoing series before sending.",
    no_args_is_help=True,
    cls=Group,
)


@hook_app.command("install")
def hook_install(
    repo: RepoOption = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            help="Refuse to send at this severity (stored as git config reviewtool.failOn).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace a hook that is not reviewtool's, keeping it as a backup.")
    ] = False,
) -> int:
    """Install the sendemail-validate hook in the hooks directory git uses."""
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    repository = gitrange.open_repository(repo or Path.cwd())
    installed = hook.install(repository, sys.executable, force=force)
    if installed.backup is not None:
        typer.echo(f"kept the existing hook as {installed.backup}")
    verb = "updated" if installed.replaced_own else "installed"
    typer.echo(f"{verb} {installed.path}")
    if fail_on is not None:
        hook.store_fail_on(repository, fail_on.value)
        typer.echo(f"git config reviewtool.failOn {fail_on.value}")
    return ExitCode.OK


@hook_app.command("uninstall")
def hook_uninstall(repo: RepoOption = None) -> int:
    """Remove reviewtool's sendemail-validate hook (and restore the hook it replaced)."""
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    repository = gitrange.open_repository(repo or Path.cwd())
    removed = hook.uninstall(repository)
    if not removed.removed and removed.restored is None:
        typer.echo(f"no reviewtool hook at {removed.path}")
    elif removed.removed:
        typer.echo(f"removed {removed.path}")
    if removed.restored is not None:
        typer.echo(f"restored the earlier hook at {removed.restored}")
    return ExitCode.OK


@hook_app.command("run", hidden=False)
def hook_run(
    name: Annotated[str, typer.Argument(metavar="HOOK", help="sendemail-validate.")],
    patch_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The outgoing message.", show_default=False)
    ],
    headers: Annotated[
        Path | None,
        typer.Argument(
            metavar="[SMTP_HEADERS_FILE]",
            help="Given by newer gits; not needed.",
            show_default=False,
        ),
    ] = None,
    repo: RepoOption = None,
    fail_on: ConfiguredFailOnOption = None,
    rule: ConfiguredRuleOption = None,
    tree: ConfiguredTreeOption = None,
) -> int:
    """Run as git's hook: audit the series FILE belongs to; exit 1 to stop the send."""
    from reviewtool import config
    from reviewtool.intake import gitrange
    from reviewtool.integrations import hook

    if name != hook.HOOK_NAME:
        raise InputError(f"{name}: not a hook reviewtool provides (only {hook.HOOK_NAME})")
    repository = gitrange.open_repository(repo or Path.cwd())
    # git runs hooks with GIT_DIR (and more) set for the user's repository; from here on every
    # git command names its repository (GitPython included).
    forget_location()
    settings = config.load(repository)
    threshold = common.enum_setting(FailOn, fail_on, settings.fail_on, "error")
    build_options = None
    if settings.build:
        toolchain = common.enum_setting(Toolchain, None, settings.toolchain, "auto")
        build_options = common.build_options(
            repository, None, list(settings.arches), 2, toolchain, settings.cache_dir, False
        )
    options = hook.ValidateOptions(
        rules=tuple(rule or settings.rules),
        tree=bool(common.configured(tree, settings.tree, True)),
        cache_dir=settings.cache_dir or common.default_cache(),
        build=build_options,
    )
    counter = os.environ.get("GIT_SENDEMAIL_FILE_COUNTER", "")
    verdict = hook.validate(
        repository, patch_file, options, counter=int(counter) if counter.isdigit() else None
    )
    if verdict.first:
        for note in verdict.notes:
            sys.stderr.write(f"reviewtool: note: {common.one_line(note)}\n")
    failing = hook.failing(verdict, threshold.severity)
    if failing:
        _print_refusal(verdict, failing, threshold)
    return common.exit_code(failing, threshold)


def _print_refusal(verdict: Any, failing: tuple[Any, ...], threshold: FailOn) -> None:
    files = len(verdict.files)
    sys.stderr.write(
        f"reviewtool: the outgoing series ({files} file{'s' if files != 1 else ''}) has "
        f"{len(failing)} finding{'s' if len(failing) != 1 else ''} at or above "
        f"{threshold.value}:\n"
    )
    for finding in failing:
        where = f"{finding.path}:{finding.line}: " if finding.path and finding.line else ""
        where = f"{finding.path}: " if finding.path and not finding.line else where
        patch = f"patch {finding.patch}: " if finding.patch is not None else ""
        line = f"{patch}{finding.severity.value} {finding.rule}: {where}{finding.message}"
        sys.stderr.write(f"  {common.one_line(line)}\n")
    sys.stderr.write(
        "reviewtool: not sending; fix the series, change `git config reviewtool.failOn`, or "
        "skip this check with `git send-email --no-validate`\n"
    )
