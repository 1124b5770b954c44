-- sqlite3 workload for the libmemtier tests and benchmark: insert ROWS rows into an
-- in-memory database with a recursive CTE, index them, and print aggregates.
-- The row count comes from the table "params" that the runner creates first:
--     { echo "CREATE TABLE params(rows INTEGER); INSERT INTO params VALUES(1000000);";
--       cat rows.sql; } | sqlite3 :memory:
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, blob BLOB);
WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < (SELECT rows FROM params))
INSERT INTO t
SELECT x, (x * 7919) % 1009,
       printf('row-%08x-%d', (x * 2654435761) % 4294967296, x % 113),
       x / 7.0,
       zeroblob(x % 61)
FROM seq;
CREATE INDEX t_grp ON t(grp);
CREATE INDEX t_name ON t(name);
SELECT 'count', count(*), sum(grp), min(name), max(name), printf('%.3f', total(val)), sum(length(blob)) FROM t;
SELECT 'groups', grp, count(*), sum(length(name)) FROM t GROUP BY grp ORDER BY count(*) DESC, grp LIMIT 5;
SELECT 'distinct', count(DISTINCT substr(name, 5, 4)) FROM t;
SELECT 'top', name FROM t ORDER BY name DESC LIMIT 3;
UPDATE t SET name = name || '-' || grp WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT 'after', count(*), sum(length(name)), (SELECT name FROM t WHERE grp = 7 ORDER BY name LIMIT 1) FROM t;
SELECT 'join', count(*) FROM t AS a JOIN t AS b ON b.id = a.id + 1 WHERE a.grp < 10;
