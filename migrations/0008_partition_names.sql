-- Partition names that nothing else can take. A district's partition was named <table>_<code>,
-- and created with IF NOT EXISTS: a district coded `by_member` found the index
-- `payments_by_member` under its partition's name, and silently got no partition. Codes may hold
-- underscores, and PostgreSQL names a partition's indexes <partition>_<columns>_idx, _key or
-- _pkey, so no plain <table>_<code> scheme is safe. Now a partition is <table>__<code>__p: no
-- index or table name ends in "__p", and the table names hold no "__".
CREATE FUNCTION ledger_partition_name(p_table text, p_code text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT p_table || '__' || p_code || '__p' $$;

-- Existing partitions take their new names, found by their bounds rather than their names.
DO $$
DECLARE
  p record;
BEGIN
  FOR p IN
    SELECT c.oid::regclass AS partition, t.table_name,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$^FOR VALUES IN \('(.*)'\)$re$) AS code
      FROM district_partitioned_tables t
      JOIN pg_inherits i ON i.inhparent = t.table_name::regclass
      JOIN pg_class c ON c.oid = i.inhrelid
  LOOP
    EXECUTE format('ALTER TABLE %s RENAME TO %I', p.partition, ledger_partition_name(p.table_name, p.code));
  END LOOP;
END $$;

-- A partition exists when one is bound to the district's value, whatever its name; creating one
-- under a name something else holds is an error, never a silent skip.
CREATE OR REPLACE FUNCTION ledger_create_district_partitions(p_code text) RETURNS void
LANGUAGE plpgsql AS $$
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
  -- Statement triggers are not inherited: an insert straight into the partition is checked too.
  EXECUTE format('CREATE OR REPLACE TRIGGER entries_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries '
                 'FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted()', ledger_partition_name('entries', p_code));
END $$;
