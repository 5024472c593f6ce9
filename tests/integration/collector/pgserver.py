"""A throw-away PostgreSQL 15 server for the collector tests (the *_pg variants).

initdb into a temporary directory owned by the postgres user, a Unix socket in a directory of
the test's own (no TCP listener), a role 'ward' with a password (scram-sha-256) and a database
'ward'. Stopped with pg_ctl (fast, then by PID) when the test ends. Needs root (runuser).
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
PASSWORD = "ward-test-pw"


class Unavailable(Exception):
    """The binaries or the privileges to run a server are missing: the test is skipped."""


def available():
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return "PostgreSQL 15 server not installed (%s/initdb; tools/bootstrap)" % PG_BIN
    if os.geteuid() != 0:
        return "starting PostgreSQL needs root (runuser -u postgres)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    return None


class Server:
    def __init__(self, workdir):
        why = available()
        if why:
            raise Unavailable(why)
        pw = pwd.getpwnam("postgres")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.root = os.path.join(workdir, "pg")
        self.data = os.path.join(self.root, "data")
        # A short path of its own: a Unix socket's name is limited to 107 bytes.
        self.sock = tempfile.mkdtemp(prefix="wpg.")
        os.makedirs(self.root)
        os.chmod(workdir, 0o755)
        for d in (self.root, self.sock):
            os.chown(d, self.uid, self.gid)
        self.log = os.path.join(self.root, "server.log")
        self._pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all postgres trust\nlocal all all scram-sha-256\n")
        self.start()
        try:
            self.psql_admin("CREATE ROLE ward LOGIN PASSWORD '%s'" % PASSWORD)
            self.psql_admin("CREATE DATABASE ward OWNER ward")
        except Exception:
            self.teardown()
            raise

    def _pg(self, prog, *args, timeout=60, check=True):
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PG_BIN, prog)] +
                           list(args), capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed: %s %s" % (prog, p.stdout.strip(), p.stderr.strip()))
        return p

    def start(self):
        self._pg("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o",
                 "-k %s -c listen_addresses='' -c fsync=on" % self.sock, "start")

    def stop(self, mode="fast"):
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", check=False)

    def pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def teardown(self):
        self.stop("fast")
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(100):
            if not self.pid() or not os.path.exists("/proc/%d" % (self.pid() or 0)):
                break
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.sock, ignore_errors=True)

    def conninfo(self, password=PASSWORD, dbname="ward"):
        return "host=%s dbname=%s user=ward password=%s" % (self.sock, dbname, password)

    def psql_admin(self, sql, db="postgres"):
        return self._pg("psql", "-h", self.sock, "-U", "postgres", "-d", db, "-v",
                        "ON_ERROR_STOP=1", "-Atq", "-c", sql).stdout

    def query(self, sql, args=()):
        """Rows of a query as tuples (integers as int), like sqlite3's fetchall()."""
        for a in args:
            lit = str(a) if isinstance(a, int) else "'" + str(a).replace("'", "''") + "'"
            sql = sql.replace("?", lit, 1)
        p = subprocess.run(["psql", "-h", self.sock, "-U", "ward", "-d", "ward", "-v",
                            "ON_ERROR_STOP=1", "-Atq", "-F", "\t", "-c", sql],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGPASSWORD=PASSWORD))
        if p.returncode != 0:
            raise RuntimeError("psql: %s" % p.stderr.strip())
        rows = []
        for line in p.stdout.splitlines():
            row = []
            for v in line.split("\t"):
                try:
                    row.append(int(v))
                except ValueError:
                    row.append(None if v == "" else v)
            rows.append(tuple(row))
        return rows
