"""Flask CLI: `flask --app app users ...`: console users and their API tokens (locator/cli.py
registers the group). Thin shells over services/accounts.py and the user store."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from locator.domain.point import format_time, utcnow
from locator.domain.users import NEVER, TOKEN_LIFETIME, ApiToken, Role, parse_lifetime
from locator.services import accounts, places
from locator.store import NotFoundError, UserStore

users_cli = AppGroup("users", help="Manage console users and API tokens.")


def _users() -> UserStore:
    return current_app.extensions["locator.users"]


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--region", "regions", multiple=True, help="A region the operator may edit (repeatable).")
@click.option(
    "--settlement",
    "settlements",
    multiple=True,
    help='A settlement the operator may edit, in its region: NAME, or "NAME (REGION)" if names repeat.',
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(name: str, role: str, regions, settlements, password_stdin: bool) -> None:
    """Create a console user; prompts for the password (twice) unless --password-stdin.

    Example: flask --app app users create olena --role operator --region "Київська область"
    """
    if role in (Role.OPERATOR, Role.REVIEWER) and not (regions or settlements):
        raise click.ClickException(f"a {role} needs at least one --region or --settlement")
    if role == Role.BUSINESS:
        raise click.ClickException("business accounts are made by approving a proposal (/operator/proposals)")
    try:
        regions, settlements = places.scope_entries(
            current_app.extensions["locator.gazetteer"], regions, settlements
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")  # click.get_text_stream is deprecated
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = _users().create(name, accounts.hash_password(password), role, regions, settlements)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"user {user.name} created: {user.role.value}, scope {user.scope_text}")


@users_cli.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option(
    "--keep-tokens",
    is_flag=True,
    help="Leave the user's API tokens working (by default a new password revokes them all).",
)
def set_password(name: str, password_stdin: bool, keep_tokens: bool) -> None:
    """Set a user's password (prompted twice unless --password-stdin); ends their sessions and
    revokes their API tokens, unless --keep-tokens.

    A password is changed when it may have leaked, and whatever leaked it may hold tokens too.

    Example: echo "$NEW_PASSWORD" | flask --app app users passwd olena --password-stdin
    """
    try:
        _users().get_by_name(name)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        _users().set_password(name, accounts.hash_password(password), revoke_tokens=not keep_tokens)
    except ValueError as error:  # too short
        raise click.ClickException(str(error)) from None
    except NotFoundError:  # removed meanwhile
        raise click.ClickException(f"no user named {name!r}") from None
    tokens = "their API tokens keep working" if keep_tokens else "their API tokens are revoked"
    click.echo(f"password of {name} changed; their sessions have ended; {tokens}")


@users_cli.command("list")
def list_users() -> None:
    """List users with role, scope and state.

    Example: flask --app app users list
    """
    for user in _users().all():
        state = "disabled" if user.disabled else "active"
        click.echo(f"{user.name}\t{user.role.value}\t{state}\t{user.scope_text}")


@users_cli.command("signin-link")
@click.argument("name")
def signin_link(name: str) -> None:
    """Print a new one-time sign-in link (72 hours) for a business account that lost its own.

    Example: flask --app app users signin-link business-12
    """
    from locator.services import proposals as proposal_commands

    try:
        user = _users().get_by_name(name)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    if user.role != Role.BUSINESS or user.disabled:
        raise click.ClickException(f"{name} is not an enabled business account")
    proposals = current_app.extensions["locator.proposals"]
    token = proposal_commands.new_link(proposals, user, proposal_commands.proposal_of(user), "cli")
    click.echo(f"{current_app.config['PUBLIC_URL']}/operator/signin/{token}")


@users_cli.command("disable")
@click.argument("name")
def disable_user(name: str) -> None:
    """Disable a user: their sessions end and every API token of theirs is revoked, for good.

    Example: flask --app app users disable olena
    """
    _set_disabled(name, True)
    click.echo(f"user {name} disabled; their sessions have ended and their API tokens are revoked")


@users_cli.command("enable")
@click.argument("name")
def enable_user(name: str) -> None:
    """Enable a disabled user again: they may log in; the tokens revoked by disable stay revoked
    (issue new ones with `users token`), so a re-enabled account revives no forgotten copy.

    Example: flask --app app users enable olena
    """
    _set_disabled(name, False)
    click.echo(f"user {name} enabled; no API token of theirs came back (issue new ones: users token)")


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        _users().set_disabled(name, disabled)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None


class Lifetime(click.ParamType):
    """A token's lifetime as 12h, 90d, 2w or never (domain/users.parse_lifetime)."""

    name = "lifetime"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value  # a timedelta or None: converted already
        try:
            return parse_lifetime(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


@users_cli.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@click.option(
    "--expires",
    "lifetime",
    type=Lifetime(),
    default=f"{TOKEN_LIFETIME.days}d",
    show_default=True,
    help=f"How long the token works: 12h, 90d, 2w (up to 730d), or {NEVER!r} for no expiry.",
)
def create_token(name: str, label: str, lifetime) -> None:
    """Create an API token for a user and print it once; only its digest is stored. It expires
    after --expires; the token alone goes to standard output, its id and expiry to stderr.

    Example: flask --app app users token olena --label "hromada sync" --expires 30d
    """
    token, digest = accounts.new_token()
    try:
        issued = _users().add_token(name, digest, label, lifetime=lifetime)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    except ValueError as error:  # a disabled user
        raise click.ClickException(str(error)) from None
    click.echo(token)
    click.echo(f"token {issued.id} for {name}, expires {_when(issued.expires_at, NEVER)}", err=True)


@users_cli.command("tokens")
@click.argument("name")
def list_tokens(name: str) -> None:
    """List a user's API tokens (never the secret): id, label, created, expires, last used (to
    the hour), state (active, expired or revoked). Times are UTC.

    Example: flask --app app users tokens olena
    """
    try:
        tokens = _users().tokens(name)
    except NotFoundError:
        raise click.ClickException(f"no user named {name!r}") from None
    now = utcnow()
    click.echo("id\tlabel\tcreated\texpires\tlast used\tstate")
    for token in tokens:
        click.echo(
            f"{token.id}\t{printable(token.label)}\t{_when(token.created_at)}\t"
            f"{_when(token.expires_at, NEVER)}\t{_when(token.last_used_at)}\t{_state(token, now)}"
        )


@users_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1), metavar="TOKEN_ID")
def revoke_token(token_id: int) -> None:
    """Revoke one API token (its id from `users tokens NAME`): it earns nothing from the next
    request on, and stays revoked; the user's other tokens keep working.

    Example: flask --app app users revoke 7
    """
    try:
        token = _users().revoke_token(token_id)
    except NotFoundError:
        raise click.ClickException(f"no API token with id {token_id}") from None
    label = f" ({printable(token.label)})" if token.label else ""
    click.echo(f"token {token.id}{label} of {token.user} is revoked since {_when(token.revoked_at)}")


def _when(moment, none: str = "-") -> str:
    return format_time(moment) if moment else none


def _state(token: ApiToken, now) -> str:
    state = token.state(now)
    return f"revoked {_when(token.revoked_at)}" if state == "revoked" else state


def printable(text: str) -> str:
    """Text someone typed (or a file carried), safe on a terminal: control characters (escapes,
    tabs) shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in text)
