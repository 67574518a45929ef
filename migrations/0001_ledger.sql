-- The double-entry ledger: districts, accounts, journals, entries and idempotency keys.
-- Every table that grows with traffic is partitioned by the issuing district, and no
-- journal spans two districts: the district is part of every key and foreign key.

CREATE TABLE districts (
  code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  brand       text NOT NULL CHECK (length(brand) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The tables that get one partition per district. A later migration that adds a
-- partitioned table registers it here and creates its partitions for existing districts.
CREATE TABLE district_partitioned_tables (
  table_name  text PRIMARY KEY
);

CREATE SEQUENCE account_id_seq;
CREATE TABLE accounts (
  district     text NOT NULL REFERENCES districts (code),
  id           bigint NOT NULL DEFAULT nextval('account_id_seq'),
  key          text NOT NULL,
  -- +1: debit-normal (assets, expenses); -1: credit-normal (liabilities, funding).
  normal       smallint NOT NULL CHECK (normal IN (1, -1)),
  -- The lowest natural balance allowed (member cash: 0); NULL for none.
  min_balance  bigint,
  -- Natural balance, normal * sum(entries.amount); kept by the entries trigger only.
  balance      bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  UNIQUE (district, key),
  CONSTRAINT accounts_floor CHECK (min_balance IS NULL OR balance >= min_balance)
) PARTITION BY LIST (district);

CREATE SEQUENCE journal_id_seq;
CREATE TABLE journals (
  district     text NOT NULL REFERENCES districts (code),
  id           bigint NOT NULL DEFAULT nextval('journal_id_seq'),
  kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  reference    text,
  PRIMARY KEY (district, id)
) PARTITION BY LIST (district);

-- amount > 0 is a debit, amount < 0 a credit; a journal's amounts sum to zero.
CREATE TABLE entries (
  district    text NOT NULL,
  journal_id  bigint NOT NULL,
  seq         smallint NOT NULL CHECK (seq >= 1),
  account_id  bigint NOT NULL,
  amount      bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (district, journal_id, seq),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id),
  FOREIGN KEY (district, account_id) REFERENCES accounts (district, id)
) PARTITION BY LIST (district);
CREATE INDEX entries_by_account ON entries (district, account_id, journal_id, seq);

-- A mutating call's key, the hash of its request, and the answer it got.
CREATE TABLE idempotency_keys (
  district      text NOT NULL REFERENCES districts (code),
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 300),
  request_hash  text NOT NULL,
  status        smallint,
  answer        text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, key)
) PARTITION BY LIST (district);

INSERT INTO district_partitioned_tables VALUES
  ('accounts'), ('journals'), ('entries'), ('idempotency_keys');

-- After every insert into entries (through the parent or straight into a partition):
-- move the cached balances, then refuse any touched journal that does not balance.
CREATE FUNCTION ledger_entries_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  -- Lock the accounts in one global order, so two journals never deadlock. NO KEY UPDATE is
  -- what the balance UPDATE takes anyway, and it does not conflict with the foreign keys' KEY SHARE.
  PERFORM 1 FROM accounts a
   WHERE (a.district, a.id) IN (SELECT DISTINCT n.district, n.account_id FROM new_entries n)
   ORDER BY a.district, a.id
   FOR NO KEY UPDATE;
  UPDATE accounts a
     SET balance = a.balance + a.normal * s.total
    FROM (SELECT n.district, n.account_id, sum(n.amount)::bigint AS total
            FROM new_entries n GROUP BY n.district, n.account_id) s
   WHERE a.district = s.district AND a.id = s.account_id;
  SELECT e.district, e.journal_id, sum(e.amount) AS total INTO bad
    FROM entries e
   WHERE (e.district, e.journal_id) IN (SELECT DISTINCT n.district, n.journal_id FROM new_entries n)
   GROUP BY e.district, e.journal_id
  HAVING sum(e.amount) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal %/% does not balance: its entries sum to %', bad.district, bad.journal_id, bad.total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_balanced';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER entries_inserted AFTER INSERT ON entries
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted();

-- The ledger is append-only: corrections are new journals.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- A journal must have entries by the time its transaction commits.
CREATE FUNCTION ledger_journal_has_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM entries e WHERE e.district = NEW.district AND e.journal_id = NEW.id) THEN
    RAISE EXCEPTION 'journal %/% has no entries', NEW.district, NEW.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_balanced';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_has_entries AFTER INSERT ON journals
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_journal_has_entries();

-- A cached balance moves only through entries: a direct UPDATE of it is refused.
CREATE FUNCTION ledger_guard_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'accounts.balance of %/% moves only through entries', OLD.district, OLD.key
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER accounts_balance_guard BEFORE UPDATE ON accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_guard_balance();

-- Creating a district creates its partitions in the same transaction.
CREATE FUNCTION ledger_create_district_partitions(p_code text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT table_name FROM district_partitioned_tables ORDER BY table_name LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES IN (%L)',
                   t || '_' || p_code, t, p_code);
  END LOOP;
  -- Statement triggers are not inherited: an insert straight into the partition must be checked too.
  EXECUTE format('CREATE OR REPLACE TRIGGER entries_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries '
                 'FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted()', 'entries_' || p_code);
END $$;

CREATE FUNCTION ledger_district_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_create_district_partitions(NEW.code);
  RETURN NULL;
END $$;
CREATE TRIGGER districts_partitions AFTER INSERT ON districts
  FOR EACH ROW EXECUTE FUNCTION ledger_district_created();
