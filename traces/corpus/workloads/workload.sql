-- A small OLTP-style workload: WAL journal (the -shm index is a shared mapping), bulk insert,
-- an index, point and range queries, updates, deletes and a VACUUM.
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -8000;
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL, qty INTEGER);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO item SELECT i, printf('item-%05d', i), (i * 37 % 1000) / 10.0, i % 50 FROM n;
CREATE INDEX item_price ON item(price);
SELECT count(*), sum(qty), avg(price) FROM item;
SELECT name FROM item WHERE price BETWEEN 10 AND 10.5 ORDER BY name LIMIT 5;
UPDATE item SET qty = qty + 1 WHERE id % 7 = 0;
DELETE FROM item WHERE id % 3 = 0;
SELECT price, count(*) FROM item GROUP BY price ORDER BY count(*) DESC LIMIT 3;
VACUUM;
