SELECT 42, -7, 9223372036854775807, -9223372036854775808, 9223372036854775808, 1.50, .5, 1e3, -2.5e-3

SELECT 'str', E'a\nb', $$dollar$$, U&'\0041', TRUE, false, NULL

SELECT 1 + 2 * 3 - 4 / 5 % 6, -a, +a, 'a' || 'b' || c

SELECT a = 1, a <> 1, a != 1, a < 1, a <= 1, a > 1, a >= 1

SELECT a ~ 'x', a ~* 'x', a !~ 'x', a !~* 'x', a OPERATOR(pg_catalog.~) 'y', a ~~ 'z%'

SELECT a IS NULL, a IS NOT NULL, a IS TRUE, a IS NOT FALSE, a IS DISTINCT FROM b, a IS NOT DISTINCT FROM b

SELECT a IN (1, 2), a NOT IN (SELECT b FROM s), EXISTS (SELECT 1), NOT EXISTS (SELECT 1), (SELECT max(b) FROM s)

SELECT a BETWEEN 1 AND 2, a NOT BETWEEN 1 AND 2

SELECT a LIKE 'x%', a NOT LIKE 'x%' ESCAPE '!', a ILIKE 'X%', a NOT ILIKE 'y'

SELECT CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END, CASE WHEN a > 0 THEN 1 END

SELECT CAST(a AS bigint), a::text, '2024-01-01'::date, '\x0aff'::bytea, a::numeric(10, 2), a::varchar(5), a::char, a::double precision, a::float4, a::int2, a::pg_catalog.int4, a::timestamp without time zone

SELECT DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00'

SELECT 't'::regclass, c.oid::pg_catalog.regclass, x::regtype, x::oid, x::name, x::"char"

SELECT count(*), count(DISTINCT a), sum(a), COALESCE(a, b, 0), NULLIF(a, 0), lower(Name), "Weird"(x)

SELECT pg_catalog.pg_table_is_visible(c.oid), pg_catalog.format_type(1, 2)

SELECT SUBSTRING(a FROM 2 FOR 3), substring(a, 2), SUBSTRING(a FOR 2), TRIM(a), TRIM(BOTH 'x' FROM a), TRIM(LEADING FROM a), TRIM(TRAILING 'y' FROM a)

SELECT POSITION('b' IN a), EXTRACT(YEAR FROM d), EXTRACT(epoch FROM d), CEIL(x), FLOOR(x), 2 ^ 3

SELECT CURRENT_DATE, CURRENT_TIMESTAMP, NOW(), version(), current_user, current_database(), current_schema(), current_schema

SELECT a COLLATE "C", b COLLATE pg_catalog.default, c COLLATE "default"

SELECT a FROM t WHERE a = 1 AND b = 2 AND c = 3 AND d = 4 AND e = 5

SELECT $1, $3 FROM t WHERE a = $2

SELECT ((1 + 2)) * 3

SELECT ARRAY[1, 2], ARRAY[]::int4[], ARRAY['a', NULL], '{1,2}'::pg_catalog.int2[], CAST('{x}' AS text[])

SELECT 1 = ANY(ARRAY[1, 2]), a <> ALL (b), a = SOME (b), x = ANY (SELECT y FROM t), x <> ALL (SELECT y FROM t)

SELECT a[1], (ARRAY[1, 2])[s], ARRAY(SELECT b FROM t ORDER BY 1)
