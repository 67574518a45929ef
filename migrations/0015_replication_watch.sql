-- The service watches its replication for /metrics: whether a synchronous standby is attached, how
-- far behind it is, and WAL archiving. pg_stat_replication's and pg_stat_archiver's figures are
-- visible only to members of pg_monitor (read-only statistics and settings).
GRANT pg_monitor TO evoucher_service;
