-- A leaner write set for each payment, with every invariant kept (issue 27, first steps). No row
-- changes: a function, two indexes and one storage setting.

-- The balance trigger no longer locks each account in a pass of its own before updating it: the
-- update takes the same row locks. The update walks the accounts in the same global order, (district, id), as the lock pass
-- did, so two groups that share accounts still never deadlock: the sorted sums drive a nested
-- loop of primary-key probes, and the function's own settings keep the planner from hashing or
-- merging (a hash join would lock in the table's physical order). The same statement counts
-- the accounts named and the accounts updated; an account that does not exist in its district
-- is refused as before.
CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger
LANGUAGE plpgsql
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
  bad record;
  touched bigint;
  moved bigint;
BEGIN
  SELECT n.district, n.journal_id, sum(n.amount) AS total, count(*) AS lines, min(n.seq) AS first,
         max(n.seq) AS last INTO bad
    FROM new_entries n
   GROUP BY n.district, n.journal_id
  HAVING sum(n.amount) <> 0 OR count(*) < 2 OR min(n.seq) <> 1 OR max(n.seq) <> count(*)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal %/% does not balance: % entries numbered %..% in this statement sum to %',
      bad.district, bad.journal_id, bad.lines, bad.first, bad.last, bad.total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_balanced';
  END IF;
  WITH sums AS MATERIALIZED (
         SELECT n.district, n.account_id, sum(n.amount)::bigint AS total
           FROM new_entries n GROUP BY n.district, n.account_id ORDER BY n.district, n.account_id),
       updated AS (
         UPDATE accounts a SET balance = a.balance + a.normal * s.total
           FROM sums s
          WHERE a.district = s.district AND a.id = s.account_id
         RETURNING 1)
  SELECT (SELECT count(*) FROM sums), (SELECT count(*) FROM updated) INTO touched, moved;
  IF moved <> touched THEN
    RAISE EXCEPTION 'an entry names an account that does not exist in its district (% accounts named, % found)',
      touched, moved
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entries_account_exists';
  END IF;
  RETURN NULL;
END $$;

-- The accounts guard fires after the update, not before it. A BEFORE ROW trigger makes PostgreSQL
-- lock each row before updating it, whatever its WHEN clause says, and each such lock is a WAL
-- record: two a payment (the member's cash and the merchant's payable). Its WHEN clause and its
-- function are unchanged (0011, 0009): an update the guard refuses still fails, whole, before
-- the statement ends.
DROP TRIGGER accounts_balance_guard ON accounts;
CREATE TRIGGER accounts_balance_guard AFTER UPDATE ON accounts
  FOR EACH ROW
  WHEN (pg_trigger_depth() = 0
        OR (NEW.district, NEW.id, NEW.key, NEW.normal, NEW.min_balance)
           IS DISTINCT FROM (OLD.district, OLD.id, OLD.key, OLD.normal, OLD.min_balance))
  EXECUTE FUNCTION ledger_guard_balance();

-- Indexes no query reads; each cost an index entry per row written.
-- processor_events_declined (recorded_at, declines only): no reader; declines are found by
-- their key, (endpoint, event_id).
DROP INDEX processor_events_declined;
-- cancellations_by_payment (district, payment_id): verify joins cancellations to payments by
-- hash, the foreign key is checked from child to parent, and payments are never deleted.
DROP INDEX cancellations_by_payment;

-- A member's month row is updated by each eligible payment, load and cancellation: room on its
-- page keeps the update heap-only, with no new index entry. Pages written before this keep
-- their rows until each row is next updated.
CREATE OR REPLACE FUNCTION ledger_create_district_partitions(p_code text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t text;
  name text;
BEGIN
  FOR t IN SELECT table_name FROM district_partitioned_tables ORDER BY table_name LOOP
    name := ledger_partition_name(t, p_code);
    IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                    WHERE i.inhparent = t::regclass
                      AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', p_code)) THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', name, t, p_code);
    END IF;
  END LOOP;
  EXECUTE format('ALTER TABLE %I SET (fillfactor = 80)', ledger_partition_name('payments', p_code));
  EXECUTE format('ALTER TABLE %I SET (fillfactor = 70)', ledger_partition_name('accounts', p_code));
  EXECUTE format('ALTER TABLE %I SET (fillfactor = 70)', ledger_partition_name('payment_counters', p_code));
  EXECUTE format('ALTER TABLE %I SET (fillfactor = 70)', ledger_partition_name('member_months', p_code));
  -- Statement triggers are not inherited: an insert straight into the partition is checked too.
  EXECUTE format('CREATE OR REPLACE TRIGGER entries_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries '
                 'FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted()', ledger_partition_name('entries', p_code));
END $$;
SELECT ledger_create_district_partitions(code) FROM districts;

-- The money path serialises each member's money movements by a transaction advisory lock on this
-- key, where it took a row lock on the member before: the row lock wrote a WAL record and dirtied
-- the member's page on every group. Anything that must wait for a member's money to be still
-- takes the same key (tests/ and the money path, src/store/money_path_reads.cpp).
CREATE FUNCTION member_lock_key(member text) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN hashtextextended('member:' || member, 0);

-- The service no longer locks member rows, so it no longer needs to update them (0009 granted it
-- for the lock): it inserts members, and reads them.
REVOKE UPDATE ON members FROM evoucher_service;

-- Every index on a table the money path writes, with the queries that need it. An index no query
-- needs costs an entry for each row written and goes (above); a new index names its reader here.
COMMENT ON INDEX accounts_pkey IS
  'the balance trigger''s update; wallets'' accounts in the money path''s facts (src/store/money_path_reads.cpp)';
COMMENT ON INDEX accounts_district_key_key IS
  'accounts by key: the money path''s facts and opening accounts (money_path_reads.cpp, money_path_writes.cpp), '
  'the batch''s accounts (cashback_batches.cpp), posting, balances and statements (ledger.cpp)';
COMMENT ON INDEX journals_pkey IS
  'a statement page''s journals (ledger.cpp); the grants report and the district summary''s grants';
COMMENT ON INDEX entries_pkey IS
  'verify''s grant and refund lines (verify.cpp); with seq it keeps a later statement from adding lines to an old journal';
COMMENT ON INDEX entries_by_account IS 'an account''s statement and its running balance (ledger.cpp)';
COMMENT ON INDEX payments_pkey IS
  'a cancellation''s or review''s payment, locked and read (money_path_payments.cpp, money_path_reads.cpp), '
  'the cancellation''s update (operations.cpp), a forfeit (flags.cpp)';
COMMENT ON INDEX payments_by_member IS 'a member''s pending cashback: the member view and the refund rule (operations.cpp)';
COMMENT ON INDEX payments_by_date IS
  'the nightly batch''s pick and counts (cashback_batches.cpp), the payment report, CSV and batch days, '
  'the settlement list (reports.cpp), the district summary (district_summary.cpp)';
COMMENT ON INDEX payments_by_merchant_date IS 'what a processor settlement owes a merchant (settlements.cpp)';
COMMENT ON INDEX cancellations_pkey IS 'a clawback''s update of its cancellation (cashback_batches.cpp)';
COMMENT ON INDEX cancellations_district_event_id_key IS 'no reader: it holds one cancellation per event id in a district';
COMMENT ON INDEX loads_by_member_time IS
  'a member''s latest load, for a backdated load (money_path_reads.cpp); a member''s totals (operations.cpp)';
COMMENT ON INDEX refunds_by_member_time IS
  'a member''s latest refund, for a backdated refund (money_path_reads.cpp); a member''s totals (operations.cpp)';
COMMENT ON INDEX idempotency_keys_pkey IS
  'the money path''s stored keys (money_path_reads.cpp); claiming and reading a key (ledger.cpp)';
COMMENT ON INDEX member_months_pkey IS
  'the money path''s months and their upsert (money_path_reads.cpp, money_path_writes.cpp); a member''s month (operations.cpp)';
COMMENT ON INDEX payment_counters_pkey IS
  'the money path''s fraud counters and their upsert (money_path_reads.cpp, money_path_writes.cpp)';
COMMENT ON INDEX processor_events_pkey IS
  'the money path''s stored answers (money_path_reads.cpp); a settlement''s event (money_path_writes.cpp)';
COMMENT ON INDEX cashback_postings_pkey IS
  'a payment''s posting: the batch, the payment report and a member''s pending cashback (pq.hpp), the batch''s report';
COMMENT ON INDEX flags_pkey IS 'a flag found and locked for its review (flags.cpp)';
COMMENT ON INDEX flags_by_date IS 'the flag list (flags.cpp)';
COMMENT ON INDEX flags_once_per_month IS 'the nightly flag batch''s insert, once a month a merchant (flags.cpp)';
