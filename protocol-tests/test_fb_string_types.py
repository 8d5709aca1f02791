"""String expression results are described with Firebird's sized types (a literal is
CHAR(n), a concatenation VARCHAR(a + b)), so isql prints their text rather than blob ids,
while PostgreSQL clients still see `text` for the same expressions."""


def test_isql_prints_string_expressions_as_text(firebird_cluster):
    out = firebird_cluster.isql(
        "CREATE TABLE sx (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20));\n"
        "INSERT INTO sx VALUES (1, 'ann');\nCOMMIT;\n"
        "SELECT 'x' AS c, name || '!' AS n, 'id: ' || id AS s FROM sx;\n").stdout
    lines = [line.rstrip() for line in out.splitlines() if line.strip()]
    header = lines.index("C      N                     S")
    assert lines[header + 2] == "x      ann!                  id: 1", out


def test_firebirdsql_sees_char_and_varchar_lengths(firebird_cluster):
    conn = firebird_cluster.firebirdsql()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 'abc' AS a, 'abc' || 'de' AS b FROM RDB$DATABASE")
        assert cur.fetchall() == [("abc", "abcde")]
        # SQL_TEXT (452) of 3 UTF8 characters (12 bytes), and SQL_VARYING (448) — not
        # SQL_BLOB (520).
        types = {d[0]: d[1] for d in cur.description}
        assert types == {"A": 452, "B": 448}, cur.description
        assert cur.description[0][3] == 12
    finally:
        conn.close()


def test_postgres_keeps_text(firebird_cluster):
    import psycopg
    with psycopg.connect(firebird_cluster.dsn(), autocommit=True) as c:
        cur = c.execute("SELECT 'a' || 'b' AS x")
        assert cur.fetchone() == ("ab",)
        assert cur.description[0].type_code == 25  # text
