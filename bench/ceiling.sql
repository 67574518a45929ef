-- The ceiling of the payments benchmark (BENCH_CEILING=1 bench/throughput.sh): what the service
-- would approve if the ledger kept no balances and no secondary index. It drops the entries'
-- balance trigger (balances stop moving, and nothing checks that a journal balances) and the
-- four secondary indexes that payments and entries carry (the batch, settlements, statements
-- and the refund rule read through them). The result is not a valid ledger, and `verify`
-- is skipped. It prices the invariants; it is never a configuration to run.
DROP INDEX payments_by_member;
DROP INDEX payments_by_date;
DROP INDEX payments_by_merchant_date;
DROP INDEX entries_by_account;
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT tgrelid::regclass AS tbl FROM pg_trigger WHERE tgname = 'entries_inserted' LOOP
    EXECUTE format('DROP TRIGGER entries_inserted ON %s', t.tbl);
  END LOOP;
END $$;
