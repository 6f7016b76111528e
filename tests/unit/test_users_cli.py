"""`python -m scripts.users` against a temporary users file: in this process, and as a process of its own
(test_the_command_runs_as_a_process)."""

import contextlib
import getpass
import io
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from unittest import mock

import pytest

from core.auth.users import UserStore
from core.settings import ROOT
from scripts import users as cli

GOOD = "violet-harbour-kettle-42"
OTHER = "Tr4in-at-dawn-to-Kassala"


@pytest.fixture
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "var" / "users.yaml"
    monkeypatch.setenv("PORTAL_USERS_FILE", str(path))
    monkeypatch.setenv("PORTAL_TEST_BCRYPT_COST", "4")
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def users(*args, stdin=None, process=False):
    """`python -m scripts.users ARGS`: in this process (cli.main, with its standard streams swapped; a
    new Python process per command cost a second each), or as a process of its own with `process`."""
    if process:
        cmd = [sys.executable, "-m", "scripts.users", *args]
        run = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy(), input=stdin, capture_output=True,
                             text=True, timeout=60)
        result = Result(run.returncode, run.stdout, run.stderr)
    else:
        out, err = io.StringIO(), io.StringIO()
        with (mock.patch.object(sys, "stdin", io.StringIO(stdin or "")), contextlib.redirect_stdout(out),
              contextlib.redirect_stderr(err)):
            try:
                code = cli.main(list(args))
            except SystemExit as e:  # argparse's refusals
                code = e.code
        result = Result(code, out.getvalue(), err.getvalue())
    for secret in (GOOD, OTHER):
        assert secret not in " ".join(args), "a password never goes on the command line"
        assert secret not in result.stdout + result.stderr, "nor is it echoed"
    return result


def refused(result):
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def snapshot(path):
    return path.read_bytes() if path.exists() else None


@pytest.fixture
def alice(users_file):
    result = users("add", "alice", "--role", "researcher", "--name", "Alice Abebe",
                   "--email", "alice@example.org", "--password-stdin", stdin=GOOD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added alice (researcher)"
    return users_file


def test_add_stores_a_hash_not_the_password(alice):
    text = alice.read_text()
    assert GOOD not in text and "$2b$04$" in text
    assert stat.S_IMODE(alice.stat().st_mode) == 0o600
    user = UserStore(alice).verify_password("alice", GOOD)
    assert (user.name, user.email, user.role) == ("Alice Abebe", "alice@example.org", "researcher")


def test_the_command_runs_as_a_process(users_file):
    """The module runs as `python -m scripts.users`: its exit codes and streams as a shell sees them."""
    added = users("add", "alice", "--role", "researcher", "--password-stdin", stdin=GOOD + "\n", process=True)
    assert (added.returncode, added.stdout.strip()) == (0, "added alice (researcher)"), added.stderr
    assert "no user 'bob'" in refused(users("disable", "bob", process=True))
    assert "alice" in users("list", process=True).stdout


def test_there_is_no_password_option(users_file):
    line = refused(users("add", "bob", "--role", "admin", "--password", "hunter2hunter2"))
    assert "unrecognized arguments" in line
    assert not users_file.exists()


def test_a_bad_command_changes_nothing(alice):
    before = snapshot(alice)
    for args, stdin, expected in [
        (("add", "alice", "--role", "admin", "--password-stdin"), OTHER + "\n", "already exists"),
        (("add", "bob", "--role", "admin", "--password-stdin"), "password2024!\n", "too common"),
        (("add", "bob", "--role", "admin", "--password-stdin"), "short\n", "too short"),
        (("add", "bob", "--role", "admin", "--password-stdin"), "", "no password"),
        (("add", "bob", "--role", "owner", "--password-stdin"), OTHER + "\n", "invalid choice"),
        (("add", "b!", "--role", "admin", "--password-stdin"), OTHER + "\n", "Invalid username"),
        (("add", "bob", "--role", "admin", "--email", "nope", "--password-stdin"), OTHER + "\n", "email"),
        (("disable", "bob"), None, "no user 'bob'"),
        (("enable", "bob"), None, "no user 'bob'"),
        (("set-role", "bob", "admin"), None, "no user 'bob'"),
        (("set-role", "alice", "owner"), None, "invalid choice"),
        (("reset-password", "bob", "--password-stdin"), OTHER + "\n", "no user 'bob'"),
        (("reset-password", "alice", "--password-stdin"), "alice-in-chains-99\n", "contains the username"),
        (("frobnicate",), None, "invalid choice"),
        ((), None, "required"),
    ]:
        assert expected in refused(users(*args, stdin=stdin)), args
        assert snapshot(alice) == before, args


def test_a_damaged_file_is_reported_and_left_alone(users_file):
    users_file.parent.mkdir(parents=True)
    users_file.write_text("users: [\n")
    assert "not valid YAML" in refused(users("disable", "alice"))
    assert users_file.read_text() == "users: [\n"


def test_the_account_lifecycle(alice):
    assert users("set-role", "Alice", "admin").returncode == 0
    assert users("disable", "alice").returncode == 0
    listing = users("list")
    assert listing.returncode == 0
    header, row = listing.stdout.splitlines()
    assert header.split()[:3] == ["USERNAME", "ROLE", "STATUS"]
    assert row.split()[:5] == ["alice", "admin", "disabled", "Alice", "Abebe"]
    assert "$2" not in listing.stdout, "no hashes in the listing"
    assert UserStore(alice).verify_password("alice", GOOD) is None
    assert users("enable", "alice").returncode == 0
    result = users("reset-password", "alice", "--password-stdin", stdin=OTHER + "\n")
    assert result.returncode == 0 and "sessions are ended" in result.stdout
    store = UserStore(alice)
    assert store.verify_password("alice", GOOD) is None
    assert store.verify_password("alice", OTHER).role == "admin"


def test_list_without_users(users_file):
    result = users("list")
    assert result.returncode == 0 and str(users_file) in result.stdout


# -- the interactive prompt (in process: subprocess has no terminal to type on) ----------------------

def answers(monkeypatch, *replies):
    replies = list(replies)
    prompts = []

    def fake_getpass(prompt=""):
        prompts.append(prompt)
        if not replies:
            raise EOFError
        return replies.pop(0)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    return prompts


def test_the_password_is_asked_twice(users_file, monkeypatch, capsys):
    prompts = answers(monkeypatch, GOOD, GOOD)
    assert cli.main(["add", "carol", "--role", "admin"]) == 0
    assert len(prompts) == 2
    assert UserStore().verify_password("carol", GOOD) is not None


def test_a_weak_password_at_the_prompt_is_asked_again(users_file, monkeypatch, capsys):
    answers(monkeypatch, "password1234", GOOD, GOOD)
    assert cli.main(["add", "carol", "--role", "admin"]) == 0
    assert "too common" in capsys.readouterr().err


@pytest.mark.parametrize("replies, message", [
    ((GOOD, OTHER), "error: the two passwords differ; nothing changed"),
    ((), "error: no password given; nothing changed"),
    ((GOOD,), "error: no password given; nothing changed"),
])
def test_a_mismatch_or_no_answer_changes_nothing(users_file, monkeypatch, capsys, replies, message):
    answers(monkeypatch, *replies)
    assert cli.main(["add", "carol", "--role", "admin"]) == 2
    assert not users_file.exists()
    assert [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning:")] == [message]


def test_nothing_is_asked_for_a_user_that_cannot_be_added(alice, monkeypatch, capsys):
    prompts = answers(monkeypatch, GOOD, GOOD)
    assert cli.main(["add", "alice", "--role", "admin"]) == 2
    assert cli.main(["reset-password", "nobody"]) == 2
    assert prompts == []


def test_grants_are_listed_granted_and_extended(users_file, monkeypatch):
    """In process (cli.main), to stay fast: the subprocess tests above cover the process itself."""
    UserStore(users_file, bcrypt_cost=4).add_user("carol", OTHER, role="researcher")
    monkeypatch.setenv("PORTAL_NOW", "2027-01-10T12:00:00Z")
    assert cli.main(["grant", "carol", "--dataset", "core", "--until", "2027-01-09"]) == 2  # in the past
    assert cli.main(["grant", "carol", "--dataset", "nope", "--until", "2027-02-01"]) == 2
    assert cli.main(["grant", "carol", "--dataset", "core", "--until", "2027-02-01"]) == 0
    from core.auth.grants import Grants

    (before, made) = Grants().grants()  # carol existed before grants: her before-grants grant, then ours
    assert (before.dataset, made.dataset, str(made.expires_on)) == ("*", "core", "2027-02-01")
    assert cli.main(["extend", str(made.id), "--until", "2027-06-30"]) == 0
    assert str(Grants().get_grant(made.id).expires_on) == "2027-06-30"
    assert cli.main(["extend", "999", "--until", "2027-06-30"]) == 2
    assert cli.main(["grants", "carol"]) == 0


def test_the_cli_manages_the_users_in_postgresql_when_the_url_is_set(pg_url, users_file, monkeypatch):
    """With PORTAL_DATABASE_URL (several replicas), the same commands work on PostgreSQL's users, and the
    grants they make go to the same database's audit log."""
    from core.auth.audit import AuditLog
    from tests.postgres import empty

    empty(pg_url)
    monkeypatch.setenv("PORTAL_DATABASE_URL", pg_url)
    added = users("add", "alice", "--role", "researcher", "--password-stdin", stdin=GOOD + "\n")
    assert added.returncode == 0, added.stderr
    assert users("disable", "alice").returncode == 0
    assert not users_file.exists()
    assert UserStore(pg_url).get_user("alice").disabled
    assert "alice" in users("list").stdout
    assert "no users in PostgreSQL" not in users("list").stdout
    granted = users("grant", "alice", "--dataset", "core", "--until", "2099-01-01")
    assert granted.returncode == 2  # disabled: refused, and nothing recorded
    assert users("enable", "alice").returncode == 0
    assert users("grant", "alice", "--dataset", "core", "--until", "2099-01-01").returncode == 0, "granted"
    assert "grant" in set(AuditLog(pg_url).entries()["action"])
