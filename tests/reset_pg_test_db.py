"""Drop the PostgreSQL test database of `make test` before its PostgreSQL pass, ending any session a
killed earlier run left connected to it (Django would otherwise stop: "being accessed by other users").

Usage: python tests/reset_pg_test_db.py postgres://user@host:5432/NAME   (drops test_NAME)"""

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def main(url: str) -> None:
    parts = urlsplit(url)
    test_name = "test_" + parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [test_name],
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(test_name)))


if __name__ == "__main__":
    main(sys.argv[1])
