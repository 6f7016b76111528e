"""The user store: who may log in, with which role, and since when their sessions count.

Users live in one YAML file outside git (env PORTAL_USERS_FILE, default var/users.yaml), or, with
PORTAL_DATABASE_URL set (several replicas, core/shared_state.py), in PostgreSQL's `users` table, managed
with `python -m scripts.users` or the admin page (pages/admin.py), through the same methods. Passwords are
kept only as bcrypt hashes (cost 12).

Rules kept here, so that the CLI and the UI cannot disagree:
* usernames: lower-case [a-z0-9._-], 3 to 32 characters; the login form lower-cases and strips what
  people type, as streamlit-authenticator does;
* passwords (OWASP ASVS 6.2): 12 to 64 characters and at most 72 bytes in UTF-8 (bcrypt's limit; we
  refuse rather than truncate), not a common password (data/common-passwords.txt plus simple
  variations), not containing the username, no composition rules;
* `sessions_valid_after`: any session issued at or before it is dead (core/auth/sessions.py checks it on
  every rerun). It moves forward on disable, role change, password reset and logout.

Every change is validated first and then written whole (temporary file + os.replace, mode 0600), under a
lock shared by the threads of this process and, through flock, by other processes (the CLI while the
portal runs): a refused change leaves the file exactly as it was. In PostgreSQL a change is one
transaction on the user's row (SELECT ... FOR UPDATE), so that it holds across replicas and machines, and
every read goes to the database: a user added, disabled or signed out on one replica counts on every
other at its next rerun. Errors are UserError with a stable `code` for translated messages.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import string
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import yaml

from core import settings
from core.auth.access import ROLES
from core.settings import DATA_DIR, ROOT
from core.shared_state import Database, is_url

try:  # POSIX only; elsewhere the in-process lock still serialises the portal's own writes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

BCRYPT_COST = 12
# Lowers the bcrypt cost so that the test suite stays fast. Never set it on a server: the CLI warns.
TEST_COST_ENV = "PORTAL_TEST_BCRYPT_COST"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 64
MAX_PASSWORD_BYTES = 72
COMMON_PASSWORDS_FILE = DATA_DIR / "common-passwords.txt"

_USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")
_FILE_HEADER = (
    "# Portal users, managed by `python -m scripts.users`. Keep this file out of git, mode 0600.\n"
    "# Passwords are bcrypt hashes; sessions issued at or before sessions_valid_after are refused.\n"
)


class UserError(Exception):
    """A refused user-store operation. `code` is stable (for translations); `params` fill the message.

    Codes: invalid_username, invalid_role, invalid_name, invalid_email, weak_password (params: reason
    = too_short | too_long | control_character | edge_whitespace | contains_username | common),
    user_exists, unknown_user, store_corrupt.
    """

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str | None
    role: str
    password_hash: str = field(repr=False)
    disabled: bool
    created_at: datetime
    updated_at: datetime
    sessions_valid_after: datetime


def default_users_file() -> Path:
    """Read at call time, so that tests and the CLI can point the store elsewhere."""
    return Path(os.environ.get("PORTAL_USERS_FILE") or ROOT / "var" / "users.yaml")


def normalize_username(username: str) -> str:
    """What the login form makes of what people type (as streamlit-authenticator does)."""
    return username.strip().lower()


def check_username(username: str) -> str:
    if not isinstance(username, str) or not _USERNAME.fullmatch(username):
        raise UserError("invalid_username",
                        f"Invalid username {username!r}: use 3 to 32 characters among a-z, 0-9, '.', '_' and '-'.")
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError("invalid_role", f"Invalid role {role!r}: use one of {', '.join(ROLES)}.",
                        roles=ROLES)
    return role


def check_password(password: str, username: str | None = None) -> None:
    """Raise UserError('weak_password', reason=...) for a password the store refuses."""

    def refuse(reason: str, message: str) -> UserError:
        return UserError("weak_password", message, reason=reason, min=MIN_PASSWORD_LENGTH,
                         max=MAX_PASSWORD_LENGTH)

    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise refuse("too_short", f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise refuse("too_long", f"The password is too long: use at most {MAX_PASSWORD_LENGTH} characters "
                                 f"({MAX_PASSWORD_BYTES} bytes).")
    if _CONTROL.search(password):
        raise refuse("control_character", "The password contains a control character.")
    # streamlit-authenticator's form strips the password it reads: such a password could never log in
    # through it, and a pasted trailing space is more often a slip than intent.
    if password != password.strip():
        raise refuse("edge_whitespace", "The password starts or ends with a space.")
    if username and len(username) >= 4 and username.lower() in password.lower():
        raise refuse("contains_username", "The password contains the username.")
    if is_common_password(password):
        raise refuse("common", "This password is too common or too easy to guess: choose another one.")


# One-time passwords an admin hands over: no look-alike characters (0/O, 1/l/I), in dash-separated groups
# that read out and type easily; 4 groups of 5 from 55 characters is about 115 bits.
_OTP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(username: str | None = None) -> str:
    """A random password that the store accepts, for an admin to hand over (the admin page and
    `python -m scripts.users ... --generate`)."""
    while True:
        password = "-".join("".join(secrets.choice(_OTP_ALPHABET) for _ in range(5)) for _ in range(4))
        try:
            check_password(password, username)
            return password
        except UserError:  # pragma: no cover - vanishingly rare (the username inside it)
            continue


_SWAPS = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
# "1" and "!" stand for "i" as often as for "l": try both readings.
_LEET = (str.maketrans({**_SWAPS, "1": "i", "!": "i"}), str.maketrans({**_SWAPS, "1": "l", "!": "l"}))
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "qwertzuiopasdfghjklyxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "qazwsxedcrfvtgbyhnujmikolp",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7",
)


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_sequence(text: str) -> bool:
    return any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


def _is_known(text: str) -> bool:
    words = _common_passwords()
    return text in words or any(text.translate(t) in words for t in _LEET) or _is_sequence(text)


def _period(text: str) -> str:
    """The shortest unit that `text` repeats ("abcabcab" -> "abc"), or `text` itself."""
    for k in range(1, len(text) // 2 + 1):
        if all(text[i] == text[i % k] for i in range(len(text))):
            return text[:k]
    return text


def _reduces_to_known(text: str) -> bool:
    # People pad a common word with digits and symbols to pass length rules: "Password2024!".
    core = text.strip(string.digits + string.punctuation + " ")
    return _is_known(text) or (len(core) >= 4 and _is_known(core))


def is_common_password(password: str) -> bool:
    """A listed password, or one that reduces to a listed word, a keyboard or alphabet run, or a
    repetition: "Password2024!", "p@ssw0rd1234", "qwertyuiop12", "abcabcabcabc", "aaaaaaaaaaaa"."""
    p = password.lower()
    if len(set(p)) < 5 or _reduces_to_known(p):
        return True
    unit = _period(p)
    return unit != p and (len(unit) <= 4 or _reduces_to_known(unit))


_DUMMY_HASHES: dict[int, bytes] = {}
_DUMMY_LOCK = threading.Lock()


def _dummy_hash(cost: int) -> bytes:
    """A hash nobody knows the password of, so that an unknown username costs a bcrypt run too."""
    with _DUMMY_LOCK:
        if cost not in _DUMMY_HASHES:
            _DUMMY_HASHES[cost] = bcrypt.hashpw(secrets.token_urlsafe(24).encode(), bcrypt.gensalt(cost))
        return _DUMMY_HASHES[cost]


def _configured_cost() -> int:
    value = os.environ.get(TEST_COST_ENV)
    if not value:
        return BCRYPT_COST
    cost = int(value)
    if not 4 <= cost <= 31:
        raise ValueError(f"{TEST_COST_ENV} must be between 4 and 31, not {value!r}")
    return cost


def _parse_time(value, where: str) -> datetime:
    # A hand-edited file may hold unquoted timestamps, which YAML already turns into datetimes.
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as e:
        raise UserError("store_corrupt", f"{where}: bad timestamp {value!r}") from e
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()
# Parsed files by path, reused while the file's inode, size and mtime are unchanged: the session check
# reads the store on every rerun, and os.replace gives every write a new inode.
_CACHE: dict[Path, tuple[tuple, dict[str, User]]] = {}


_COLUMNS = "username, name, email, role, password_hash, disabled, created_at, updated_at, sessions_valid_after"
_POSTGRES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY CHECK (username ~ '^[a-z0-9._-]{{3,32}}$'),
    name          TEXT NOT NULL,
    email         TEXT,
    role          TEXT NOT NULL CHECK (role IN ({', '.join(f"'{r}'" for r in ROLES)})),
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    sessions_valid_after TIMESTAMPTZ NOT NULL
);"""


class UserStore:
    """The users of one YAML file (`location` a path; default PORTAL_USERS_FILE), or of PostgreSQL's `users`
    table (`location` a postgresql:// URL; default when PORTAL_DATABASE_URL is set). Cheap to create:
    `UserStore()` reads the settings now."""

    def __init__(self, location: Path | str | None = None, *, bcrypt_cost: int | None = None,
                 clock: Callable[[], float] = time.time):
        if location is None:
            location = settings.database_url() or default_users_file()
        self.db = Database(location) if is_url(location) else None
        self.path = None if self.db else Path(location)  # the YAML file; None in PostgreSQL
        self.bcrypt_cost = bcrypt_cost if bcrypt_cost is not None else _configured_cost()
        self.clock = clock
        if self.db is not None:
            self.db.ensure("users", lambda con: con.script(_POSTGRES_SCHEMA))

    @property
    def location(self) -> str:
        """Where the users are, for messages: the file's path, or "PostgreSQL"."""
        return "PostgreSQL (PORTAL_DATABASE_URL)" if self.db else str(self.path)

    # -- reading -------------------------------------------------------------------------------

    def get_user(self, username: str) -> User | None:
        if not isinstance(username, str):
            return None
        username = normalize_username(username)
        if self.db is not None:
            with self.db.connect() as con:
                row = con.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", (username,)).fetchone()
            return None if row is None else self._row(row)
        return self._load().get(username)

    def list_users(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.username)

    def verify_password(self, username: str, password: str) -> User | None:
        """The user, if the password is theirs and they are enabled; None otherwise.

        Exactly one bcrypt run whatever the outcome (a dummy hash stands in for unknown names and
        unusable passwords), so that response time does not tell which usernames exist.
        """
        user = self.get_user(username) if isinstance(username, str) else None
        usable = isinstance(password, str) and 0 < len(password.encode("utf-8")) <= MAX_PASSWORD_BYTES
        candidate = password.encode("utf-8") if usable else b"-"
        stored = user.password_hash.encode("ascii") if user and usable else _dummy_hash(self.bcrypt_cost)
        matches = bcrypt.checkpw(candidate, stored)
        if user is None or not usable or not matches or user.disabled:
            return None
        return user

    def credentials_for_authenticator(self) -> dict:
        """The `credentials` argument of streamlit_authenticator.Authenticate (0.4.2), enabled users only.

        A fresh dict on every call: the library writes `logged_in` and `failed_login_attempts` into it.
        """
        return {"usernames": {
            u.username: {"name": u.name, "email": u.email, "password": u.password_hash, "roles": [u.role]}
            for u in self.list_users() if not u.disabled
        }}

    # -- changes -------------------------------------------------------------------------------

    def check_new_user(self, username: str, *, role: str, name: str | None = None,
                       email: str | None = None) -> None:
        """Everything add_user checks except the password, so a CLI can refuse before asking for it."""
        username = check_username(normalize_username(username) if isinstance(username, str) else username)
        self._new_user_fields(username, role, name, email)
        if username in self._load():
            raise UserError("user_exists", f"The user {username!r} already exists.", username=username)

    def add_user(self, username: str, password: str, *, role: str, name: str | None = None,
                 email: str | None = None) -> User:
        username = check_username(normalize_username(username) if isinstance(username, str) else username)
        name, email = self._new_user_fields(username, role, name, email)
        check_password(password, username)
        if username in self._load():  # before the slow hash; checked again under the lock
            raise UserError("user_exists", f"The user {username!r} already exists.", username=username)
        password_hash = self._hash(password)
        exists = UserError("user_exists", f"The user {username!r} already exists.", username=username)
        if self.db is not None:
            now = self._now()
            user = User(username=username, name=name, email=email, role=role, password_hash=password_hash,
                        disabled=False, created_at=now, updated_at=now, sessions_valid_after=now)
            with self.db.connect() as con:
                added = con.execute(f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                    "ON CONFLICT (username) DO NOTHING", self._values(user)).rowcount
            if not added:
                raise exists
            return user
        with self._locked():
            users = self._load()
            if username in users:
                raise exists
            now = self._now()
            user = User(username=username, name=name, email=email, role=role, password_hash=password_hash,
                        disabled=False, created_at=now, updated_at=now, sessions_valid_after=now)
            users[username] = user
            self._save(users)
        return user

    def set_role(self, username: str, role: str) -> User:
        check_role(role)
        return self._update(username, lambda u: None if u.role == role else {"role": role}, end_sessions=True)

    def disable(self, username: str) -> User:
        return self._update(username, lambda u: None if u.disabled else {"disabled": True}, end_sessions=True)

    def enable(self, username: str) -> User:
        # Sessions from before the user was disabled stay dead: disable() moved sessions_valid_after.
        return self._update(username, lambda u: {"disabled": False} if u.disabled else None)

    def reset_password(self, username: str, password: str) -> User:
        username = normalize_username(username)
        if self.get_user(username) is None:
            raise UserError("unknown_user", f"There is no user {username!r}.", username=username)
        check_password(password, username)
        password_hash = self._hash(password)
        return self._update(username, lambda u: {"password_hash": password_hash}, end_sessions=True)

    def end_sessions(self, username: str) -> User:
        """Logout everywhere: every session and login cookie issued until now stops working."""
        return self._update(username, lambda u: {}, end_sessions=True)

    # -- internals -----------------------------------------------------------------------------

    def _new_user_fields(self, username: str, role: str, name: str | None,
                         email: str | None) -> tuple[str, str | None]:
        check_username(username)
        check_role(role)
        name = username if name is None else name.strip()
        if not 1 <= len(name) <= 100 or _CONTROL.search(name):
            raise UserError("invalid_name", "The display name must have 1 to 100 printable characters.")
        if email is not None:
            email = email.strip() or None
        if email is not None and (len(email) > 254 or not _EMAIL.fullmatch(email)):
            raise UserError("invalid_email", f"Invalid email address {email!r}.", email=email)
        return name, email

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(self.bcrypt_cost)).decode("ascii")

    def _update(self, username: str, change: Callable[[User], dict | None], *,
                end_sessions: bool = False) -> User:
        username = normalize_username(username)
        if self.db is not None:
            # One transaction, the user's row locked: a refused or failed change leaves it as it was.
            with self.db.connect() as con, con.transaction():
                row = con.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ? FOR UPDATE",
                                  (username,)).fetchone()
                user = None if row is None else self._row(row)
                changed = self._changed(username, user, change, end_sessions)
                if changed is not user:
                    con.execute("UPDATE users SET name = ?, email = ?, role = ?, password_hash = ?, disabled = ?, "
                                "created_at = ?, updated_at = ?, sessions_valid_after = ? WHERE username = ?",
                                (*self._values(changed)[1:], username))
                return changed
        with self._locked():
            users = self._load()
            user = users.get(username)
            changed = self._changed(username, user, change, end_sessions)
            if changed is not user:
                users[username] = changed
                self._save(users)
            return changed

    def _changed(self, username: str, user: User | None, change: Callable[[User], dict | None],
                 end_sessions: bool) -> User:
        """The user after `change` (the same object when nothing changes), or UserError."""
        if user is None:
            raise UserError("unknown_user", f"There is no user {username!r}.", username=username)
        changes = change(user)
        if changes is None:
            return user
        now = self._now()
        if end_sessions:
            # Never backwards: a clock step back must not revive sessions that were ended.
            changes["sessions_valid_after"] = max(now, user.sessions_valid_after)
        return replace(user, **changes, updated_at=now)

    @staticmethod
    def _values(user: User) -> tuple:
        return (user.username, user.name, user.email, user.role, user.password_hash, user.disabled,
                user.created_at, user.updated_at, user.sessions_valid_after)

    def _row(self, row) -> User:
        return self._user(row[0], dict(zip(_COLUMNS.split(", ")[1:], row[1:], strict=True)))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        key = self.path.resolve()
        with _THREAD_LOCKS_GUARD:
            thread_lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
        with thread_lock:
            if fcntl is None:  # pragma: no cover
                yield
                return
            key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(key.with_name(key.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # also releases the flock

    def _load(self) -> dict[str, User]:
        if self.db is not None:
            with self.db.connect() as con:
                return {u.username: u for u in map(self._row, con.execute(f"SELECT {_COLUMNS} FROM users"))}
        key = self.path.resolve()
        try:
            st = key.stat()
        except FileNotFoundError:
            return {}
        signature = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        cached = _CACHE.get(key)
        if cached is None or cached[0] != signature:
            cached = (signature, self._parse(key.read_text(encoding="utf-8")))
            _CACHE[key] = cached
        return dict(cached[1])

    def _parse(self, text: str) -> dict[str, User]:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}: {getattr(e, 'problem', None) or 'syntax error'})" if mark else ""
            raise UserError("store_corrupt", f"{self.path} is not valid YAML{where}", path=str(self.path)) from e
        if not isinstance(doc, dict) or doc.get("version", 1) != 1:
            raise UserError("store_corrupt", f"{self.path}: not a version 1 users file.", path=str(self.path))
        entries = doc.get("users") or {}
        if not isinstance(entries, dict):
            raise UserError("store_corrupt", f"{self.path}: 'users' must be a mapping.", path=str(self.path))
        return {username: self._user(username, entry) for username, entry in entries.items()}

    def _user(self, username, entry) -> User:
        """A user from its entry (a mapping of the file's fields), checked; UserError store_corrupt if not."""
        where = f"{self.location}: user {username!r}"
        try:
            check_username(username)
            check_role(entry["role"])
            if not isinstance(entry["disabled"], bool):
                raise ValueError("'disabled' must be true or false")
            if not _BCRYPT_HASH.fullmatch(str(entry["password_hash"])):
                raise ValueError("'password_hash' is not a bcrypt hash")
            return User(
                username=username, name=str(entry.get("name") or username),
                email=entry.get("email") or None, role=entry["role"],
                password_hash=str(entry["password_hash"]), disabled=entry["disabled"],
                created_at=_parse_time(entry["created_at"], where),
                updated_at=_parse_time(entry["updated_at"], where),
                sessions_valid_after=_parse_time(entry["sessions_valid_after"], where))
        except (KeyError, TypeError, ValueError, UserError) as e:
            if isinstance(e, UserError) and e.code == "store_corrupt":
                raise
            raise UserError("store_corrupt", f"{where}: {e}", path=str(self.location)) from e

    def _save(self, users: dict[str, User]) -> None:
        doc = {"version": 1, "users": {
            u.username: {"name": u.name, "email": u.email, "role": u.role, "password_hash": u.password_hash,
                         "disabled": u.disabled, "created_at": u.created_at.isoformat(timespec="microseconds"),
                         "updated_at": u.updated_at.isoformat(timespec="microseconds"),
                         "sessions_valid_after": u.sessions_valid_after.isoformat(timespec="microseconds")}
            for u in sorted(users.values(), key=lambda u: u.username)}}
        text = _FILE_HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkstemp makes the file 0600 from the start, so the hashes are never readable by others.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself survives a crash only once the directory is synced
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
