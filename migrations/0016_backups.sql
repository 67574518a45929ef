-- The backups pgBackRest has taken, as scripts/backup.sh records them after each one succeeds, so
-- that /metrics can say when the last one finished (and an alert can fire when it is too old).
-- Written by the owner or a superuser (the backup's job); the service only reads it.
CREATE TABLE backups (
  label text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('full', 'diff', 'incr')),
  started_at timestamptz NOT NULL,
  stopped_at timestamptz NOT NULL CHECK (stopped_at >= started_at),
  recorded_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON backups TO evoucher_service;
