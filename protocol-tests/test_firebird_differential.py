"""Differential test: the same Firebird-dialect script through the real `isql-fb`, once
against a real Firebird 3 server (Debian's `/usr/sbin/firebird`, started on a private
port with its own configuration, security database and database; stopped by pid) and
once against Rosetta's Firebird gateway. isql's output must be the same.

The script sticks to what both must agree on byte for byte: DDL, DML with row counts,
every Firebird 3 type with NULLs, blobs, transactions, and the errors isql prints
(Table unknown, syntax errors, NOT NULL), `STARTING WITH`/`CONTAINING`, views, and
generators set outside transactions (`SET GENERATOR` survives a `ROLLBACK`). Known, deliberate differences are listed in
`KNOWN_DIFFERENCES` and normalised away, nothing else."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import PASSWORD, ROOT

sys.path.insert(0, str(ROOT / "scripts"))

FIREBIRD = Path("/usr/sbin/firebird")

SCRIPT = """
SET COUNT ON;
CREATE TABLE DT (ID INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(20), CODE CHAR(4),
  SMALLV SMALLINT, BIGV BIGINT, AMOUNT NUMERIC(9,2), BIGAMT DECIMAL(18,4),
  DBL DOUBLE PRECISION, FLT FLOAT, FLAG BOOLEAN, D DATE, TM TIME, TS TIMESTAMP);
COMMIT;
INSERT INTO DT VALUES (1, 'alpha', 'AB', 7, 9000000000, 12.34, 123456.7891, 3.5, 1.25,
  TRUE, '2024-02-29', '13:45:30.1234', '2024-02-29 13:45:30');
INSERT INTO DT (ID) VALUES (2);
INSERT INTO DT (ID, NAME, AMOUNT) VALUES (3, 'gamma', -0.05);
COMMIT;
SELECT ID, NAME, CODE, SMALLV, BIGV, AMOUNT, BIGAMT FROM DT ORDER BY ID;
SELECT ID, DBL, FLT, FLAG, D, TM, TS FROM DT ORDER BY ID;
UPDATE DT SET NAME = 'changed' WHERE ID >= 2;
DELETE FROM DT WHERE ID = 3;
ROLLBACK;
SELECT ID, NAME FROM DT ORDER BY ID;
SELECT COUNT(*) FROM NO_SUCH_TABLE;
SELEC 1 FROM DT;
INSERT INTO DT (NAME) VALUES ('no id');
CREATE TABLE DB (ID INTEGER NOT NULL PRIMARY KEY, NOTE BLOB SUB_TYPE TEXT);
COMMIT;
INSERT INTO DB VALUES (1, 'hello blob');
COMMIT;
SET BLOB ALL;
SELECT NOTE FROM DB;
INSERT INTO DT (ID, NAME) VALUES (10, 'ret') RETURNING ID, NAME;
SELECT FIRST 2 SKIP 1 ID FROM DT ORDER BY ID;
UPDATE OR INSERT INTO DT (ID, NAME) VALUES (10, 'upd') MATCHING (ID);
SELECT ID, NAME FROM DT WHERE ID = 10;
COMMIT;
RECREATE TABLE DR (ID INTEGER NOT NULL PRIMARY KEY, V VARCHAR(10));
COMMIT;
RECREATE TABLE DR (ID INTEGER NOT NULL PRIMARY KEY, V VARCHAR(10));
COMMIT;
INSERT INTO DR VALUES (1, 'a');
COMMIT RETAIN;
INSERT INTO DR VALUES (2, 'b');
ROLLBACK RETAIN;
SELECT * FROM DR;
SELECT NOCOL FROM DR;
DROP TABLE NOPE;
COMMIT;
SELECT ID FROM DT WHERE NAME STARTING WITH 'al' ORDER BY ID;
SELECT ID FROM DT WHERE NAME NOT STARTING 'AL' ORDER BY ID;
SELECT ID FROM DT WHERE NAME CONTAINING 'LP' ORDER BY ID;
SELECT ID FROM DT WHERE NAME NOT CONTAINING 'x' ORDER BY ID;
CREATE VIEW DV (VID, VNAME) AS SELECT ID, NAME FROM DT WHERE ID > 1;
COMMIT;
SELECT VID, VNAME FROM DV ORDER BY VID;
COMMIT;
DROP VIEW DV;
COMMIT;
CREATE GENERATOR DG;
COMMIT;
SET GENERATOR DG TO 41;
ROLLBACK;
SELECT GEN_ID(DG, 1) FROM RDB$DATABASE;
SHOW GENERATORS;
ALTER SEQUENCE DG RESTART WITH 7;
SELECT NEXT VALUE FOR DG FROM RDB$DATABASE;
COMMIT;
"""

# Deliberate differences, normalised before comparing:
# * isql echoes "After line N in file …" only for -i input: we feed stdin, so none.
# * Blob ids are the server's own numbers ("80:0" vs "8000000000000001:0" style).
# * Rosetta has no SQLSTATE-less constraint names like INTEG_12 (none appear here).
KNOWN_DIFFERENCES = [
    (re.compile(r"^\s*[0-9a-f]+:[0-9a-f]+\s*$", re.M), "<blob id>"),
]


def normalise(text):
    for pattern, repl in KNOWN_DIFFERENCES:
        text = pattern.sub(repl, text)
    return text


def run_isql(dsn, user, password, env=None):
    r = subprocess.run(["isql-fb", "-q", "-user", user, "-password", password, dsn],
                       input=SCRIPT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, **(env or {})))
    return normalise(r.stdout + "\n--- stderr ---\n" + r.stderr)


@pytest.fixture(scope="module")
def real_firebird():
    if not FIREBIRD.exists():
        pytest.skip("Firebird 3 server not installed")
    from benchlib import servers
    servers.PASSWORD = PASSWORD
    tmp = Path(tempfile.mkdtemp(prefix="rosetta-fb-diff-"))
    server = servers.Firebird(tmp)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_isql_output_matches_real_firebird(firebird_cluster, real_firebird):
    ours = run_isql(firebird_cluster.firebird_dsn(), "admin", PASSWORD)
    theirs = run_isql(f"127.0.0.1/{real_firebird.port}:{real_firebird.db}", "SYSDBA",
                      PASSWORD)
    if ours != theirs:
        import difflib
        diff = "\n".join(difflib.unified_diff(theirs.splitlines(), ours.splitlines(),
                                              "firebird-3", "rosetta", lineterm=""))
        pytest.fail(f"isql output differs:\n{diff}")
