CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL, c VARCHAR(10) DEFAULT 'x' UNIQUE, d NUMERIC(10,2) NULL)

CREATE TABLE IF NOT EXISTS "T" (a int2, b int4, c int8, d smallint, e int, f bigint, g decimal, h numeric(5), i real, j float4, k double precision, l float8, m float, n boolean, o bool, p text, q character varying(3), r character varying, s char(2), u character, v date, w timestamp, x timestamp without time zone, y bytea)

CREATE TABLE t (a int, b int, CONSTRAINT pk PRIMARY KEY (a, b), UNIQUE (b), CONSTRAINT u2 UNIQUE (a))

CREATE TABLE t (a int CONSTRAINT t_pk PRIMARY KEY, b int CONSTRAINT b_u UNIQUE)

CREATE TABLE s.t (a int DEFAULT 1 + 2)

DROP TABLE t

DROP TABLE IF EXISTS a, s.b CASCADE

DROP TABLE t RESTRICT

CREATE INDEX ON t (a)

CREATE UNIQUE INDEX IF NOT EXISTS t_ab ON s.t (a ASC, b DESC)

CREATE INDEX t_a ON t USING btree (a)

CREATE INDEX CONCURRENTLY t_c ON t (c)

DROP INDEX t_a

DROP INDEX IF EXISTS t_a, s.t_b

CREATE DATABASE db

CREATE DATABASE "Db"

DROP DATABASE db

DROP DATABASE IF EXISTS db

CREATE VIEW v AS SELECT a, b FROM t WHERE a > 1

CREATE OR REPLACE VIEW public.v (x, "Y") AS SELECT a, count(*) FROM t GROUP BY a

CREATE VIEW v AS SELECT * FROM t1 JOIN t2 USING (id) UNION ALL SELECT 1, 2 ORDER BY 1

DROP VIEW v

DROP VIEW IF EXISTS v, s.w CASCADE
