-- The learning-platform API's one write (etl_toolkit/medly/write.py).

-- name: update_user
UPDATE medly.users
SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE name END,
    metadata = CASE WHEN %(set_metadata)s THEN %(metadata)s ELSE metadata END
WHERE uid = %(uid)s
RETURNING uid
