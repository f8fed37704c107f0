\set uid random(1, 400)
SELECT name FROM users WHERE id = :uid;
UPDATE users SET name = name WHERE id = :uid;
