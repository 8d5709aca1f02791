"""The real psql client against a live cluster: a normal session, EXPLAIN, PREPARE /
EXECUTE, and psql's own meta-commands (which query the virtual catalogs)."""


def test_session_with_ddl_dml_and_queries(cluster):
    r = cluster.psql("""
DROP TABLE IF EXISTS emp;
DROP TABLE IF EXISTS dept;
CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE);
CREATE TABLE emp (
  id BIGINT PRIMARY KEY, dept INTEGER, name TEXT NOT NULL,
  salary NUMERIC(8,2) DEFAULT 1000.00, hired DATE, active BOOLEAN DEFAULT true);
INSERT INTO dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty');
INSERT INTO emp (id, dept, name, salary, hired) VALUES
  (1, 1, 'ada', 5000, '2020-01-01'), (2, 1, 'bob', 4000.5, '2021-06-15'),
  (3, 2, 'cy', DEFAULT, '2019-03-03'), (4, NULL, 'dee', 3000, NULL)
  RETURNING id, salary;
UPDATE emp SET salary = salary * 2 WHERE dept = 2;
DELETE FROM emp WHERE name LIKE 'd%';
SELECT d.name, count(e.id) AS n, sum(e.salary) AS total
  FROM dept d LEFT JOIN emp e ON e.dept = d.id
  GROUP BY d.name HAVING count(e.id) >= 0 ORDER BY n DESC, d.name;
SELECT name, CASE WHEN salary > 4500 THEN 'high' ELSE 'low' END AS band,
       COALESCE(hired, DATE '1970-01-01') AS h
  FROM emp WHERE id IN (1, 2, 3) AND salary BETWEEN 1000 AND 9000
  ORDER BY salary DESC NULLS LAST LIMIT 2 OFFSET 0;
SELECT DISTINCT dept FROM emp ORDER BY dept;
SELECT upper(name) || '!' AS shout, CAST(salary AS INTEGER) AS s FROM emp ORDER BY 1;
INSERT INTO emp (id, dept, name) SELECT id + 100, dept, name || '2' FROM emp;
SELECT count(*) FROM emp;
""")
    out = r.stdout
    assert "CREATE TABLE" in out and "INSERT 0 4" in out
    # RETURNING with the DEFAULT applied:
    assert " 3 | 1000.00" in out
    assert "UPDATE 1" in out and "DELETE 1" in out
    # LEFT JOIN + GROUP BY:
    assert " eng   | 2 | 9000.50" in out
    assert " ops   | 1 | 2000.00" in out
    assert " empty | 0 |" in out
    assert " ada  | high | 2020-01-01" in out
    assert " ADA!  | 5000" in out and " BOB!  | 4001" in out
    assert "INSERT 0 3" in out and "\n     6\n" in out
    assert "ERROR" not in r.stderr, r.stderr


def test_errors_and_failed_transaction(cluster):
    r = cluster.psql("""
CREATE TABLE IF NOT EXISTS t1 (a INT PRIMARY KEY);
INSERT INTO t1 VALUES (1) ;
INSERT INTO t1 VALUES (1);
BEGIN;
SELECT * FROM missing;
SELECT 1;
ROLLBACK;
SELECT 'still alive' AS ok;
""", check=False)
    assert 'duplicate key value violates unique constraint "t1_pkey"' in r.stderr
    assert 'relation "missing" does not exist' in r.stderr
    assert "current transaction is aborted" in r.stderr
    assert "still alive" in r.stdout


def test_explain_shows_bytecode_and_index_use(cluster):
    r = cluster.psql("""
CREATE TABLE IF NOT EXISTS big (id INT PRIMARY KEY, k INT, v TEXT);
CREATE INDEX IF NOT EXISTS big_k ON big (k);
EXPLAIN SELECT v FROM big WHERE id = 5;
EXPLAIN SELECT v FROM big WHERE k = 7;
EXPLAIN SELECT v FROM big WHERE k > 3 AND k < 9;
EXPLAIN SELECT v FROM big WHERE v = 'x';
DROP INDEX big_k;
EXPLAIN SELECT v FROM big WHERE k = 7;
""")
    out = r.stdout
    assert "Bytecode v1" in out
    assert "Index Scan using big_pkey on big" in out
    assert "Index Scan using big_k on big" in out
    assert "Index Range Scan using big_k on big" in out
    assert "Seq Scan on big" in out
    assert out.count("Index Scan using big_k") == 1


def test_prepare_execute(cluster):
    r = cluster.psql("""
CREATE TABLE IF NOT EXISTS pe (id INT PRIMARY KEY, v TEXT);
PREPARE ins (INT, TEXT) AS INSERT INTO pe VALUES ($1, $2);
EXECUTE ins (1, 'one');
EXECUTE ins (2, NULL);
PREPARE get AS SELECT v FROM pe WHERE id = $1;
EXECUTE get (1);
DEALLOCATE get;
SELECT count(*) AS n FROM pe;
""")
    assert " one\n" in r.stdout
    assert "\n 2\n" in r.stdout


def test_meta_commands(cluster):
    cluster.psql("CREATE TABLE IF NOT EXISTS meta_t (id INT PRIMARY KEY, name TEXT);"
                 "CREATE INDEX IF NOT EXISTS meta_t_name ON meta_t (name);")
    dt = cluster.psql("\\dt").stdout
    assert "meta_t" in dt and "table" in dt
    di = cluster.psql("\\di").stdout
    assert "meta_t_name" in di and "meta_t_pkey" in di
    dn = cluster.psql("\\dn").stdout
    assert "public" in dn
    ll = cluster.psql("\\l").stdout
    assert "rosetta" in ll


DESCRIBE_DDL = (
    "CREATE TABLE d_t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE,"
    " n NUMERIC(8,2) DEFAULT 1.5, ts TIMESTAMP);"
    "CREATE INDEX d_t_n ON d_t (n);"
)


def test_describe_table(cluster):
    # psql 15's \d runs its catalog queries (arrays, ANY, ARRAY(subquery),
    # generate_series in FROM, pg_policy, pg_statistic_ext, pg_publication …):
    # the output is what PostgreSQL 15 prints for the same table.
    cluster.psql(DESCRIBE_DDL)
    r = cluster.psql("\\d d_t")
    assert r.stderr == "", r.stderr
    assert r.stdout == (
        '                          Table "public.d_t"\n'
        " Column |            Type             | Collation | Nullable | Default \n"
        "--------+-----------------------------+-----------+----------+---------\n"
        " id     | integer                     |           | not null | \n"
        " name   | character varying(20)       |           | not null | \n"
        " n      | numeric(8,2)                |           |          | 1.5\n"
        " ts     | timestamp without time zone |           |          | \n"
        "Indexes:\n"
        '    "d_t_pkey" PRIMARY KEY, btree (id)\n'
        '    "d_t_n" btree (n)\n'
        '    "d_t_name_key" UNIQUE CONSTRAINT, btree (name)\n'
        "\n"
    ), r.stdout


def test_describe_table_verbose(cluster):
    cluster.psql("CREATE TABLE IF NOT EXISTS d_v (id INT PRIMARY KEY, s TEXT, n NUMERIC)")
    r = cluster.psql("\\d+ d_v")
    assert r.stderr == "", r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].strip() == 'Table "public.d_v"'
    assert "| Storage  | Compression | Stats target | Description" in lines[1]
    assert lines[3].startswith(" id     | integer |           | not null |         | plain ")
    assert lines[4].startswith(" s      | text    |           |          |         | extended ")
    assert lines[5].startswith(" n      | numeric |           |          |         | main ")
    assert '    "d_v_pkey" PRIMARY KEY, btree (id)' in lines
    assert "Access method: heap" in lines


def test_describe_roles(cluster):
    r = cluster.psql("\\du")
    assert r.stderr == "", r.stderr
    assert "List of roles" in r.stdout
    assert " Role name |            Attributes             | Member of " in r.stdout
    assert " admin     | Superuser, Create role, Create DB | {}" in r.stdout


def test_arrays_any_and_generate_series(cluster):
    r = cluster.psql(
        "SELECT ARRAY[1,2];"
        "SELECT 1 = ANY(ARRAY[1,2]) AS hit, 3 = ANY('{1,2}') AS miss,"
        " NULL::int = ANY(ARRAY[1]) AS unknown;"
        "SELECT * FROM generate_series(1,3);"
        "SELECT ARRAY['x y', NULL, ''] AS quoted, (ARRAY[10,20])[2] AS second,"
        " '{1,2}'::pg_catalog.int2[] AS cast_;"
        "SELECT ARRAY(SELECT s * 2 FROM generate_series(1, 3) s) AS doubled;"
        "SELECT string_agg(x, ', ') FROM unnest(ARRAY['a','b']) AS u(x);",
        args=("-A", "-F", "|"))
    assert r.stderr == "", r.stderr
    assert r.stdout == (
        "array\n{1,2}\n(1 row)\n"
        "hit|miss|unknown\nt|f|\n(1 row)\n"
        "generate_series\n1\n2\n3\n(3 rows)\n"
        'quoted|second|cast_\n{"x y",NULL,""}|20|{1,2}\n(1 row)\n'
        "doubled\n{2,4,6}\n(1 row)\n"
        "string_agg\na, b\n(1 row)\n"
    ), r.stdout


def test_array_errors_are_clean(cluster):
    r = cluster.psql("SELECT 1 = ANY(1);", check=False)
    assert "ERROR:" in r.stderr and "array" in r.stderr, r.stderr
    r = cluster.psql("SELECT ARRAY[[1,2],[3,4]];", check=False)
    assert "multidimensional arrays" in r.stderr, r.stderr
    r = cluster.psql("SELECT '{1,x}'::int[];", check=False)
    assert "ERROR:" in r.stderr and "invalid input syntax" in r.stderr, r.stderr
