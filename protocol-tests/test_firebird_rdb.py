"""Firebird's RDB$ system tables through real Firebird clients: the columns and values
`isql-fb`'s SHOW commands and Firebird tools read, compared with what a Firebird 3
server stores for the same table, by plain SQL (`firebirdsql`) and by `isql-fb`'s own
`SHOW TABLE` (BLR requests)."""

import pytest

firebirdsql = pytest.importorskip("firebirdsql")

EMP = ("CREATE TABLE RDB_EMP (ID INTEGER NOT NULL PRIMARY KEY, NAME VARCHAR(20) DEFAULT 'x', "
       "SALARY NUMERIC(9,2), BORN DATE, NOTES BLOB SUB_TYPE TEXT, CODE CHAR(5), U INTEGER UNIQUE)")


@pytest.fixture(scope="module")
def fb(firebird_cluster):
    con = firebird_cluster.firebirdsql()
    con.cursor().execute(EMP)
    con.commit()
    con.close()
    return firebird_cluster


def rows(cluster, sql):
    con = cluster.firebirdsql()
    try:
        cur = con.cursor()
        cur.execute(sql)
        return [tuple(v.rstrip() if isinstance(v, str) else v for v in r)
                for r in cur.fetchall()]
    finally:
        con.close()


def test_character_sets_collations_and_database_charset(fb):
    sets = rows(fb, "SELECT RDB$CHARACTER_SET_NAME, RDB$CHARACTER_SET_ID, "
                    "RDB$BYTES_PER_CHARACTER, RDB$DEFAULT_COLLATE_NAME FROM RDB$CHARACTER_SETS")
    for expected in [("NONE", 0, 1, "NONE"), ("OCTETS", 1, 1, "OCTETS"),
                     ("ASCII", 2, 1, "ASCII"), ("UTF8", 4, 4, "UTF8")]:
        assert expected in sets, sets
    collations = rows(fb, "SELECT RDB$COLLATION_NAME, RDB$COLLATION_ID FROM RDB$COLLATIONS "
                          "WHERE RDB$CHARACTER_SET_ID = 4")
    assert ("UTF8", 0) in collations and ("UNICODE_CI", 3) in collations, collations
    assert rows(fb, "SELECT RDB$CHARACTER_SET_NAME FROM RDB$DATABASE") == [("UTF8",)]
    assert rows(fb, "SELECT RDB$TRIGGER_NAME, RDB$TRIGGER_TYPE, RDB$TRIGGER_SOURCE, "
                    "RDB$ENTRYPOINT, RDB$ENGINE_NAME FROM RDB$TRIGGERS") == []


def test_user_table_described_as_firebird_3_does(fb):
    assert rows(fb, "SELECT RDB$SYSTEM_FLAG, RDB$VIEW_BLR, RDB$VIEW_SOURCE, RDB$EXTERNAL_FILE "
                    "FROM RDB$RELATIONS WHERE RDB$RELATION_NAME = 'RDB_EMP'") == [
        (0, None, None, None)]
    got = rows(fb, """
        SELECT RF.RDB$FIELD_NAME, RF.RDB$NULL_FLAG, RF.RDB$DEFAULT_SOURCE,
               F.RDB$FIELD_TYPE, F.RDB$FIELD_SUB_TYPE, F.RDB$FIELD_LENGTH, F.RDB$FIELD_SCALE,
               F.RDB$FIELD_PRECISION, F.RDB$CHARACTER_LENGTH, F.RDB$CHARACTER_SET_ID,
               F.RDB$COLLATION_ID, F.RDB$SEGMENT_LENGTH
        FROM RDB$RELATION_FIELDS RF JOIN RDB$FIELDS F ON F.RDB$FIELD_NAME = RF.RDB$FIELD_SOURCE
        WHERE RF.RDB$RELATION_NAME = 'RDB_EMP' ORDER BY RF.RDB$FIELD_POSITION""")
    # What Firebird 3.0 stores for the same CREATE TABLE (default character set UTF8),
    # but for the default's source text, which Firebird keeps as typed.
    assert got == [
        ("ID", 1, None, 8, 0, 4, 0, 0, None, None, None, None),
        ("NAME", None, "DEFAULT 'x'", 37, 0, 80, 0, None, 20, 4, 0, None),
        ("SALARY", None, None, 8, 1, 4, -2, 9, None, None, None, None),
        ("BORN", None, None, 12, None, 4, 0, None, None, None, None, None),
        ("NOTES", None, None, 261, 1, 8, 0, None, None, 4, 0, 80),
        ("CODE", None, None, 14, 0, 20, 0, None, 5, 4, 0, None),
        ("U", None, None, 8, 0, 4, 0, 0, None, None, None, None),
    ], got


def test_not_null_and_key_constraints(fb):
    got = rows(fb, """
        SELECT RC.RDB$CONSTRAINT_TYPE, CC.RDB$TRIGGER_NAME, I.RDB$FIELD_NAME
        FROM RDB$RELATION_CONSTRAINTS RC
        LEFT JOIN RDB$CHECK_CONSTRAINTS CC ON CC.RDB$CONSTRAINT_NAME = RC.RDB$CONSTRAINT_NAME
        LEFT JOIN RDB$INDEX_SEGMENTS I ON I.RDB$INDEX_NAME = RC.RDB$INDEX_NAME
        WHERE RC.RDB$RELATION_NAME = 'RDB_EMP' ORDER BY RC.RDB$CONSTRAINT_TYPE""")
    assert got == [("NOT NULL", "ID", None), ("PRIMARY KEY", None, "ID"),
                   ("UNIQUE", None, "U")], got


def test_isql_show_table_prints_every_column(fb):
    r = fb.isql("SHOW TABLE RDB_EMP;\n")
    out = r.stdout
    for line in ["INTEGER Not Null", "VARCHAR(20) Nullable DEFAULT 'x'",
                 "NUMERIC(9, 2) Nullable", "DATE Nullable", "BLOB segment 80, subtype TEXT",
                 "CHAR(5) Nullable", "Primary key (ID)", "Unique key (U)"]:
        assert line in out, out + r.stderr


def test_views_are_told_from_tables_as_isql_does(fb):
    # Views cannot be created through the Firebird dialect yet; the PostgreSQL gateway
    # of the same cluster makes one over the shared catalog.
    fb.psql("CREATE VIEW rdb_emp_names AS SELECT id, name FROM rdb_emp")
    got = rows(fb, "SELECT RDB$RELATION_NAME, RDB$VIEW_BLR IS NOT NULL, RDB$RELATION_TYPE "
                   "FROM RDB$RELATIONS WHERE RDB$RELATION_NAME LIKE 'RDB_EMP%' "
                   "ORDER BY 1")
    assert got == [("RDB_EMP", False, 0), ("RDB_EMP_NAMES", True, 1)], got
    tables = fb.isql("SHOW TABLES;\n").stdout.split()
    views = fb.isql("SHOW VIEWS;\n").stdout.split()
    assert "RDB_EMP" in tables and "RDB_EMP_NAMES" not in tables, tables
    assert "RDB_EMP_NAMES" in views and "RDB_EMP" not in views, views
    r = fb.isql("SHOW VIEW RDB_EMP_NAMES;\n")
    assert "View Source:" in r.stdout and "FROM rdb_emp" in r.stdout, r.stdout + r.stderr
