#!/usr/bin/env python3
"""collector_incidents_idb_pg: the unit test of incidents/idb_pg.c (tests/unit/collector_idb_pg)
against a PostgreSQL server of its own (pgserver.py; needs root, else skipped with 77).

    idb_pg_test.py TEST_BINARY WORK_DIR
"""
import os
import subprocess
import sys
import tempfile

import pgserver


def main():
    binary, work = sys.argv[1], sys.argv[2]
    why = pgserver.available()
    if why:
        print("SKIP idb_pg: %s" % why)
        sys.exit(77)
    os.makedirs(work, exist_ok=True)
    srv = pgserver.Server(tempfile.mkdtemp(prefix="idb_pg.", dir=work))
    try:
        p = subprocess.run([binary], env=dict(os.environ, WARD_TEST_PG_CONNINFO=srv.conninfo()),
                           capture_output=True, text=True, timeout=120)
    finally:
        srv.teardown()
    print(p.stdout + p.stderr)
    print("%s idb_pg" % ("PASS" if p.returncode == 0 else "FAIL"))
    sys.exit(0 if p.returncode == 0 else 1)


if __name__ == "__main__":
    main()
