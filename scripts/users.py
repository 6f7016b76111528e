"""Manage the portal's users (the YAML file at PORTAL_USERS_FILE, default var/users.yaml; with
PORTAL_DATABASE_URL set, the users table of that PostgreSQL database, shared by every replica).

    python -m scripts.users add NAME --role researcher [--name "Full Name"] [--email ADDRESS] [--generate]
    python -m scripts.users disable NAME | enable NAME
    python -m scripts.users set-role NAME ROLE
    python -m scripts.users reset-password NAME [--generate]
    python -m scripts.users list
    python -m scripts.users grants [NAME]
    python -m scripts.users grant NAME --dataset core [--dataset covid ...] --until YYYY-MM-DD
    python -m scripts.users extend GRANT_ID --until YYYY-MM-DD

Passwords are asked twice on the terminal, never taken from the command line (where `ps` and the shell
history would show them); `--password-stdin` reads one line from standard input instead, for scripts;
`--generate` makes a random one and prints it once, to hand over (as the admin page does).
Disabling a user, changing a role or resetting a password also signs the user out everywhere.
`grants` lists researchers' access grants (core.auth.grants: per dataset, until a last day included,
"*" for every dataset); `grant` gives an existing researcher account access to datasets, `extend` moves
a grant's last day (its terms stay accepted). Both are written to the audit log.
On any error: one line on stderr, exit code 2, and the store is left as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys

from core.auth.access import ROLES
from core.auth.grants import Grant, GrantError, Grants, today
from core.auth.users import (
    TEST_COST_ENV,
    User,
    UserError,
    UserStore,
    check_password,
    generate_password,
    normalize_username,
)
from scripts import cli
from scripts.cli import EXIT_ERROR, CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("python -m scripts.users", __doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=type(parser))

    add = commands.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add.add_argument("--generate", action="store_true", help="make a random password and print it once")

    for command, help_text in (("disable", "disable a user and end their sessions"),
                               ("enable", "enable a disabled user")):
        commands.add_parser(command, help=help_text).add_argument("username")

    set_role = commands.add_parser("set-role", help="change a user's role (ends their sessions)")
    set_role.add_argument("username")
    set_role.add_argument("role", choices=ROLES)

    reset = commands.add_parser("reset-password", help="set a new password (ends their sessions)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    reset.add_argument("--generate", action="store_true", help="make a random password and print it once")

    commands.add_parser("list", help="list the users (no password hashes)")

    listing = commands.add_parser("grants", help="list the access grants (of one user)")
    listing.add_argument("username", nargs="?")
    grant = commands.add_parser("grant", help="give a researcher access to datasets until a day")
    grant.add_argument("username")
    grant.add_argument("--dataset", action="append", required=True, help="a dataset (repeat for more)")
    grant.add_argument("--until", required=True, type=_day, help="the last day of access, YYYY-MM-DD")
    extend = commands.add_parser("extend", help="move a grant's last day")
    extend.add_argument("grant_id", type=int)
    extend.add_argument("--until", required=True, type=_day, help="the new last day, YYYY-MM-DD")
    return parser


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def format_grants(grants: list[Grant]) -> str:
    day = today()
    header = ("ID", "USERNAME", "DATASET", "LAST DAY", "STATUS", "KIND", "GRANTED BY")
    rows = [(g.id, g.username, g.dataset, g.expires_on.isoformat() if g.expires_on else "no end",
             "expired" if g.expired(day) else "active" if g.terms_accepted_at else "terms not accepted",
             g.kind, g.granted_by) for g in grants]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *rows])


def run_grants(args: argparse.Namespace, store: UserStore) -> str:
    from core.data import versions

    grants = Grants(users=store)
    admin = f"{getpass.getuser()} (command line)"
    if args.command == "grants":
        found = grants.grants(args.username)
        return format_grants(found) if found else "no grants"
    if args.command == "grant":
        made = grants.grant(args.username, args.dataset, args.until, admin=admin, known=versions.datasets())
        return "\n".join(f"grant {g.id}: {g.username} may use {g.dataset} until {g.expires_on}" for g in made)
    done = grants.extend(args.grant_id, args.until, admin=admin)
    return f"grant {done.id} ({done.username}, {done.dataset}) now ends on {done.expires_on}"


def read_password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise CommandError("no password on standard input")
        check_password(password, username)
        return password
    try:
        while True:
            password = getpass.getpass(f"New password for {username}: ")
            try:
                check_password(password, username)
            except UserError as e:  # at a terminal, let the person try again
                print(e, file=sys.stderr)
                continue
            if getpass.getpass("Repeat it: ") != password:
                raise CommandError("the two passwords differ; nothing changed")
            return password
    except (EOFError, KeyboardInterrupt):
        raise CommandError("no password given; nothing changed") from None


def format_table(users: list[User]) -> str:
    def day(moment) -> str:
        return moment.strftime("%Y-%m-%d %H:%M")

    header = ("USERNAME", "ROLE", "STATUS", "NAME", "EMAIL", "CREATED (UTC)", "UPDATED (UTC)")
    rows = [(u.username, u.role, "disabled" if u.disabled else "active", u.name, u.email or "-",
             day(u.created_at), day(u.updated_at)) for u in users]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *rows])


def run(args: argparse.Namespace, store: UserStore) -> str:
    if args.command in ("grants", "grant", "extend"):
        return run_grants(args, store)
    username = normalize_username(args.username) if hasattr(args, "username") else None
    if args.command == "add":
        store.check_new_user(username, role=args.role, name=args.name, email=args.email)
        password = generate_password(username) if args.generate else read_password(username, args.password_stdin)
        user = store.add_user(username, password, role=args.role, name=args.name, email=args.email)
        return f"added {user.username} ({user.role})" + (f"\none-time password: {password}" if args.generate else "")
    if args.command == "list":
        users = store.list_users()
        if not users:
            return f"no users in {store.location}"
        return format_table(users)
    if store.get_user(username) is None:
        raise UserError("unknown_user", f"There is no user {username!r}.")
    if args.command == "disable":
        store.disable(username)
        return f"disabled {username}; their sessions are ended"
    if args.command == "enable":
        store.enable(username)
        return f"enabled {username}"
    if args.command == "set-role":
        store.set_role(username, args.role)
        return f"{username} is now {args.role}; their sessions are ended"
    if args.command == "reset-password":
        password = generate_password(username) if args.generate else read_password(username, args.password_stdin)
        store.reset_password(username, password)
        return f"new password set for {username}; their sessions are ended" + (
            f"\none-time password: {password}" if args.generate else "")
    raise CommandError(f"unknown command {args.command!r}")  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if os.environ.get(TEST_COST_ENV) and args.command in ("add", "reset-password"):
            print(f"warning: {TEST_COST_ENV} lowers the bcrypt cost; it is meant for tests only",
                  file=sys.stderr)
        print(run(args, UserStore()))
        return 0
    except (CommandError, UserError, GrantError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
