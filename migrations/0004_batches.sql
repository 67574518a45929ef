-- The nightly cashback batch, funding pools drawn through the ledger, clawbacks and settlements.

-- What the batch paid each payment, per source, and what it could not fund; a clawback after
-- posting lowers the posted amounts and returns them to the pools.
ALTER TABLE payments
  ADD COLUMN national_pool_id   bigint REFERENCES pools (id),
  ADD COLUMN city_pool_id       bigint REFERENCES pools (id),
  ADD COLUMN district_pool_id   bigint REFERENCES pools (id),
  ADD COLUMN posted_national    bigint NOT NULL DEFAULT 0 CHECK (posted_national >= 0),
  ADD COLUMN posted_city        bigint NOT NULL DEFAULT 0 CHECK (posted_city >= 0),
  ADD COLUMN posted_district    bigint NOT NULL DEFAULT 0 CHECK (posted_district >= 0),
  ADD COLUMN posted_merchant    bigint NOT NULL DEFAULT 0 CHECK (posted_merchant >= 0),
  ADD COLUMN unfunded_national  bigint NOT NULL DEFAULT 0 CHECK (unfunded_national >= 0),
  ADD COLUMN unfunded_city      bigint NOT NULL DEFAULT 0 CHECK (unfunded_city >= 0),
  ADD COLUMN unfunded_district  bigint NOT NULL DEFAULT 0 CHECK (unfunded_district >= 0),
  ADD COLUMN clawed_back        bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0);
CREATE INDEX payments_unposted ON payments (district, business_date, occurred_at, id) WHERE cashback_posted_at IS NULL;

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

-- Districts created before this migration get the fee-support expense account.
INSERT INTO accounts (district, key, normal) SELECT code, 'fee_support', 1 FROM districts
  ON CONFLICT (district, key) DO NOTHING;
