"""Views through psql and psycopg: CREATE [OR REPLACE] VIEW, DROP VIEW, views in joins and
subqueries, PostgreSQL's errors and SQLSTATEs, dependencies, transactional DDL and the
virtual catalogs behind psql's \\dv and \\d."""

import psycopg
import pytest
from psycopg import errors


@pytest.fixture
def conn(cluster):
    with psycopg.connect(cluster.dsn(), autocommit=True) as c:
        for v in ("v_big", "v_names", "v_join", "v_agg", "v_cols", "v_on_v", "v_tx"):
            c.execute(f"DROP VIEW IF EXISTS {v} CASCADE")
        c.execute("DROP TABLE IF EXISTS vt_emp")
        c.execute("DROP TABLE IF EXISTS vt_dept")
        c.execute("CREATE TABLE vt_dept (id int PRIMARY KEY, name text)")
        c.execute("CREATE TABLE vt_emp (id int PRIMARY KEY, dept int, name text, pay numeric(8,2))")
        c.execute("INSERT INTO vt_dept VALUES (1, 'eng'), (2, 'ops')")
        c.execute("INSERT INTO vt_emp VALUES (1, 1, 'ada', 5000), (2, 1, 'bob', 4000),"
                  " (3, 2, 'cy', 3000), (4, NULL, 'dee', 1000)")
        yield c


def test_create_query_and_drop_a_view(conn):
    conn.execute("CREATE VIEW v_big AS SELECT id, name, pay FROM vt_emp WHERE pay >= 3000")
    rows = conn.execute("SELECT name FROM v_big ORDER BY id").fetchall()
    assert rows == [("ada",), ("bob",), ("cy",)]
    # The view sees later writes to its table (it is a stored query, not a copy).
    conn.execute("INSERT INTO vt_emp VALUES (5, 2, 'eve', 9000)")
    assert conn.execute("SELECT count(*) FROM v_big").fetchone() == (4,)
    # Filters, aggregates, ORDER BY/LIMIT and qualified names over a view.
    assert conn.execute(
        "SELECT v_big.name FROM v_big WHERE v_big.pay > 4500 ORDER BY pay DESC LIMIT 1"
    ).fetchone() == ("eve",)
    assert conn.execute("SELECT max(pay) FROM v_big AS b WHERE b.id < 3").fetchone()[0] == 5000
    # Result columns carry their types.
    cur = conn.execute("SELECT * FROM v_big WHERE false")
    assert [d.name for d in cur.description] == ["id", "name", "pay"]
    conn.execute("DROP VIEW v_big")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM v_big")


def test_views_in_joins_subqueries_and_other_views(conn):
    conn.execute("CREATE VIEW v_names (dept_id, dept_name) AS SELECT id, upper(name) FROM vt_dept")
    conn.execute("CREATE VIEW v_agg AS SELECT dept, count(*) AS n, sum(pay) AS total"
                 " FROM vt_emp GROUP BY dept")
    rows = conn.execute(
        "SELECT d.dept_name, a.n, a.total FROM v_names d JOIN v_agg a ON a.dept = d.dept_id"
        " ORDER BY 1").fetchall()
    assert [(r[0], r[1], float(r[2])) for r in rows] == [("ENG", 2, 9000.0), ("OPS", 1, 3000.0)]
    # LEFT JOIN between a table and a view, and a view inside IN / EXISTS / scalar subqueries.
    rows = conn.execute(
        "SELECT e.name, d.dept_name FROM vt_emp e LEFT JOIN v_names d ON d.dept_id = e.dept"
        " ORDER BY e.id").fetchall()
    assert rows == [("ada", "ENG"), ("bob", "ENG"), ("cy", "OPS"), ("dee", None)]
    assert conn.execute(
        "SELECT name FROM vt_emp WHERE dept IN (SELECT dept FROM v_agg WHERE n = 1)"
    ).fetchall() == [("cy",)]
    assert conn.execute(
        "SELECT count(*) FROM vt_dept t WHERE EXISTS"
        " (SELECT 1 FROM v_agg a WHERE a.dept = t.id AND a.n > 1)").fetchone() == (1,)
    assert conn.execute("SELECT (SELECT dept_name FROM v_names WHERE dept_id = 2)").fetchone() \
        == ("OPS",)
    # A view over a view, and the same view twice in one query.
    conn.execute("CREATE VIEW v_on_v AS SELECT dept_name FROM v_names WHERE dept_id > 1")
    assert conn.execute("SELECT * FROM v_on_v").fetchall() == [("OPS",)]
    assert conn.execute(
        "SELECT count(*) FROM v_names a, v_names b WHERE a.dept_id <> b.dept_id").fetchone() \
        == (2,)
    # UNION of views (what sqllogictest's view files do).
    assert conn.execute(
        "SELECT dept_name FROM v_names UNION SELECT dept_name FROM v_on_v ORDER BY 1"
    ).fetchall() == [("ENG",), ("OPS",)]


def test_errors_are_postgresql_errors(conn):
    conn.execute("CREATE VIEW v_cols AS SELECT id, name FROM vt_emp")
    with pytest.raises(errors.DuplicateTable):  # 42P07
        conn.execute("CREATE VIEW v_cols AS SELECT 1")
    with pytest.raises(errors.DuplicateTable):  # views and tables share one namespace
        conn.execute("CREATE VIEW vt_emp AS SELECT 1")
    with pytest.raises(errors.DuplicateTable):
        conn.execute("CREATE TABLE v_cols (a int)")
    with pytest.raises(errors.UndefinedTable):  # 42P01
        conn.execute("DROP VIEW no_such_view")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("CREATE VIEW v_big AS SELECT * FROM no_such_table")
    with pytest.raises(errors.WrongObjectType) as e:  # 42809
        conn.execute("DROP TABLE v_cols")
    assert '"v_cols" is not a table' in str(e.value)
    assert e.value.diag.message_hint == "Use DROP VIEW to remove a view."
    with pytest.raises(errors.WrongObjectType) as e:
        conn.execute("DROP VIEW vt_emp")
    assert '"vt_emp" is not a view' in str(e.value)
    with pytest.raises(errors.WrongObjectType):
        conn.execute("CREATE OR REPLACE VIEW vt_emp AS SELECT 1")
    with pytest.raises(errors.WrongObjectType):
        conn.execute("CREATE INDEX ON v_cols (id)")
    # Writing into a view: 0A000 (Rosetta's views are read-only).
    for sql, verb in [("INSERT INTO v_cols VALUES (9, 'x')", "insert into"),
                      ("UPDATE v_cols SET name = 'x'", "update"),
                      ("DELETE FROM v_cols", "delete from")]:
        with pytest.raises(errors.FeatureNotSupported) as e:
            conn.execute(sql)
        assert f'cannot {verb} view "v_cols"' in str(e.value)
    # OR REPLACE may add columns at the end, not drop, rename or retype them (42P16).
    conn.execute("CREATE OR REPLACE VIEW v_cols AS SELECT id, name, pay FROM vt_emp")
    assert len(conn.execute("SELECT * FROM v_cols").fetchone()) == 3
    for sql, msg in [("SELECT id FROM vt_emp", "cannot drop columns from view"),
                     ("SELECT id, dept AS name, pay FROM vt_emp", "cannot change"),
                     ("SELECT id, name AS nm, pay FROM vt_emp", "cannot change name")]:
        with pytest.raises(errors.InvalidTableDefinition) as e:
            conn.execute(f"CREATE OR REPLACE VIEW v_cols AS {sql}")
        assert msg in str(e.value)
    with pytest.raises(errors.DuplicateColumn):
        conn.execute("CREATE VIEW v_big AS SELECT id, id FROM vt_emp")
    with pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("CREATE VIEW v_big (a, b, c) AS SELECT 1, 2")
    # IF EXISTS: a notice per missing view, and the others are dropped.
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("DROP VIEW IF EXISTS nope, v_cols")
    assert notices == ['view "nope" does not exist, skipping']
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM v_cols")


def test_dependencies_refuse_drop_unless_cascade(conn):
    conn.execute("CREATE VIEW v_names AS SELECT id, name FROM vt_dept")
    conn.execute("CREATE VIEW v_on_v AS SELECT name FROM v_names")
    with pytest.raises(errors.DependentObjectsStillExist) as e:  # 2BP01
        conn.execute("DROP TABLE vt_dept")
    assert "cannot drop table vt_dept because other objects depend on it" in str(e.value)
    assert "view v_names depends on table vt_dept" in e.value.diag.message_detail
    with pytest.raises(errors.DependentObjectsStillExist):
        conn.execute("DROP VIEW v_names")
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("DROP TABLE vt_dept CASCADE")
    assert "drop cascades to view v_names" in notices
    assert "drop cascades to view v_on_v" in notices
    for name in ("vt_dept", "v_names", "v_on_v"):
        with pytest.raises(errors.UndefinedTable):
            conn.execute(f"SELECT * FROM {name}")


def test_view_ddl_is_transactional(conn):
    conn.execute("BEGIN")
    conn.execute("CREATE VIEW v_tx AS SELECT 1 AS one")
    assert conn.execute("SELECT one FROM v_tx").fetchone() == (1,)
    conn.execute("ROLLBACK")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM v_tx")
    conn.execute("CREATE VIEW v_tx AS SELECT 1 AS one")
    conn.execute("BEGIN")
    conn.execute("DROP VIEW v_tx")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT one FROM v_tx").fetchone() == (1,)


def test_extended_protocol_parameters_against_a_view(conn):
    conn.execute("CREATE VIEW v_big AS SELECT id, name FROM vt_emp")
    cur = conn.execute("SELECT name FROM v_big WHERE id = %s", (3,), prepare=True)
    assert cur.fetchall() == [("cy",)]
    with pytest.raises(errors.UndefinedParameter):  # 42P02
        conn.execute("CREATE VIEW v_agg AS SELECT $1::int AS x")


def test_catalogs_and_psql_meta_commands(cluster, conn):
    conn.execute("CREATE VIEW v_names (dept_id, dept_name) AS SELECT id, name FROM vt_dept")
    assert conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'v_names'"
    ).fetchone() == ("VIEW",)
    assert conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'vt_dept'"
    ).fetchone() == ("BASE TABLE",)
    assert conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_name = 'v_names'"
    ).fetchone() == ("v_names",)
    assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'v_names'").fetchone() \
        == ("v",)
    assert conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'v_names'"
        " ORDER BY ordinal_position").fetchall() == [("dept_id",), ("dept_name",)]
    definition = conn.execute(
        "SELECT definition FROM pg_views WHERE viewname = 'v_names'").fetchone()[0]
    assert "FROM vt_dept" in definition
    out = cluster.psql("\\dv").stdout
    assert "v_names" in out and "view" in out and "vt_dept" not in out
    out = cluster.psql("\\d v_names").stdout
    assert 'View "public.v_names"' in out
    assert "dept_id" in out and "integer" in out and "dept_name" in out
    out = cluster.psql("\\d+ v_names").stdout
    assert "View definition:" in out and "vt_dept" in out
    out = cluster.psql("\\d").stdout
    assert "v_names" in out and "vt_dept" in out
