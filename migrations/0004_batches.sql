-- The nightly cashback batch, funding pools drawn through the ledger, clawbacks and settlements.

-- What the batch paid each payment, per source, and what it could not fund; a clawback after
-- posting lowers the posted amounts and returns them to the pools.
-- The pool ids are not foreign keys: checking three of them per posted payment would cost the
-- batch more than the payments' own update; `evoucher verify` checks them instead.
ALTER TABLE payments
  ADD COLUMN national_pool_id   bigint,
  ADD COLUMN city_pool_id       bigint,
  ADD COLUMN district_pool_id   bigint,
  ADD COLUMN posted_national    bigint NOT NULL DEFAULT 0 CHECK (posted_national >= 0),
  ADD COLUMN posted_city        bigint NOT NULL DEFAULT 0 CHECK (posted_city >= 0),
  ADD COLUMN posted_district    bigint NOT NULL DEFAULT 0 CHECK (posted_district >= 0),
  ADD COLUMN posted_merchant    bigint NOT NULL DEFAULT 0 CHECK (posted_merchant >= 0),
  ADD COLUMN unfunded_national  bigint NOT NULL DEFAULT 0 CHECK (unfunded_national >= 0),
  ADD COLUMN unfunded_city      bigint NOT NULL DEFAULT 0 CHECK (unfunded_city >= 0),
  ADD COLUMN unfunded_district  bigint NOT NULL DEFAULT 0 CHECK (unfunded_district >= 0),
  ADD COLUMN clawed_back        bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0);

-- Settlements find a merchant's payments of a date across districts; pools sum their
-- accounts across districts.
CREATE INDEX payments_by_merchant_date ON payments (merchant_id, business_date);
CREATE INDEX accounts_by_key ON accounts (key);

ALTER TABLE cancellations
  ADD COLUMN clawed_back bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0);

-- One row per district and business date; the report is stored when the run completes, and a
-- second run answers it without writing.
CREATE TABLE batch_runs (
  district       text NOT NULL REFERENCES districts (code),
  business_date  date NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'completed')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  chunks         integer NOT NULL DEFAULT 0,
  -- The last payment posted, in (occurred_at, id) order: a restarted run goes on after it.
  cursor_at      timestamptz,
  cursor_id      bigint,
  report         text,
  PRIMARY KEY (district, business_date),
  CHECK ((status = 'completed') = (report IS NOT NULL))
) PARTITION BY LIST (district);

-- One row per issuing-district portion of a merchant's settlement for a business date.
CREATE TABLE settlements (
  district       text NOT NULL REFERENCES districts (code),
  id             bigint NOT NULL,
  event_id       text NOT NULL,
  merchant_id    text NOT NULL,
  business_date  date NOT NULL,
  amount         bigint NOT NULL CHECK (amount >= 0),
  fee_support    bigint NOT NULL CHECK (fee_support >= 0),
  journal_id     bigint,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  UNIQUE (district, merchant_id, business_date),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id)
) PARTITION BY LIST (district);

INSERT INTO district_partitioned_tables VALUES ('batch_runs'), ('settlements');
SELECT ledger_create_district_partitions(code) FROM districts;

-- Payments are updated once by the batch (and by cancellations): room on each page lets those
-- updates stay heap-only, with no new index entries.
CREATE OR REPLACE FUNCTION ledger_create_district_partitions(p_code text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  FOR t IN SELECT table_name FROM district_partitioned_tables ORDER BY table_name LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES IN (%L)',
                   t || '_' || p_code, t, p_code);
  END LOOP;
  EXECUTE format('ALTER TABLE %I SET (fillfactor = 80)', 'payments_' || p_code);
  EXECUTE format('CREATE OR REPLACE TRIGGER entries_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries '
                 'FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted()', 'entries_' || p_code);
END $$;
SELECT ledger_create_district_partitions(code) FROM districts;

-- Districts created before this migration get the fee-support expense account.
INSERT INTO accounts (district, key, normal) SELECT code, 'fee_support', 1 FROM districts
  ON CONFLICT (district, key) DO NOTHING;
