CREATE SEQUENCE s

CREATE SEQUENCE IF NOT EXISTS public.s START WITH 10 INCREMENT BY -2 NO MINVALUE CACHE 20

SELECT nextval('s'), currval('"MixedCase"'), setval('s', 5)

ALTER SEQUENCE s RESTART WITH 3 INCREMENT 5

DROP SEQUENCE IF EXISTS s, t

CREATE TABLE t (id serial PRIMARY KEY, b bigserial, name text)

CREATE TABLE t (a time, b time(6) without time zone)

INSERT INTO t VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE t.name <> excluded.name RETURNING *

INSERT INTO t VALUES (1, 'a') ON CONFLICT DO NOTHING
