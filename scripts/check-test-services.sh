#!/usr/bin/env bash
# Before the suite runs: is the PostgreSQL the tests need reachable, and is Chromium there?
# Prints exactly what to do when not; never skips silently.
set -uo pipefail
url="${KEHU_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
if ! .venv/bin/python - "$url" <<'PY'
import sys
import psycopg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
try:
    psycopg.connect(host=u.host or None, port=u.port or 5432, user=u.username, password=u.password,
                    dbname=u.database, connect_timeout=5).close()
except Exception as exc:  # noqa: BLE001
    print(f"PostgreSQL at {u.render_as_string(hide_password=True)} is not reachable: {exc}".strip())
    sys.exit(1)
PY
then
  cat <<MSG
The test suite runs every integration test on PostgreSQL too, and needs a server. Either
  - point KEHU_TEST_DATABASE_URL at one where you may create schemas, e.g.
      export KEHU_TEST_DATABASE_URL=postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME
  - or start a throwaway one (Debian's postgresql package, run as a non-root user):
      make pg-start    # then export the URL it prints, and run make test again
MSG
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "The browser tests need Debian's chromium at /usr/bin/chromium: sudo apt-get install chromium"
  exit 1
fi
