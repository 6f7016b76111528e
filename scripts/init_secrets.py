"""Write `.streamlit/secrets.toml` with fresh random secrets if it does not exist yet.

The file is git-ignored and never overwritten: replacing `ckm_secret` would change every record key
and so every published perturbed figure, and replacing `cookie_key` would sign everybody out.
"""

import secrets
import sys

from core.settings import SECRETS_FILE


def main() -> int:
    if SECRETS_FILE.exists():
        return 0
    SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
    SECRETS_FILE.write_text(
        "# Made by scripts/init_secrets.py. Keep this file out of git and back it up:\n"
        "# ckm_secret keys the public tier's perturbation; cookie_key signs login cookies.\n"
        f'ckm_secret = "{secrets.token_urlsafe(48)}"\n'
        f'cookie_key = "{secrets.token_urlsafe(48)}"\n',
        encoding="utf-8",
    )
    SECRETS_FILE.chmod(0o600)
    print(f"wrote new secrets to {SECRETS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
