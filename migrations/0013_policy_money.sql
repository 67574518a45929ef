-- Policy money (정책발행, PRODUCT.md section 8): programs that pay relief and allowances onto the
-- card, each drawing on a pool of its own; grants into members' program wallets; what each
-- payment took from each wallet, so that a cancellation returns it where it came from.

-- A program's pool has the source program:<id>. Program ids hold no ':' so that the wallet's
-- account key, program:<program>:<member>, reads one way only.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'pools'::regclass AND contype = 'c' AND conparentid = 0
              AND pg_get_constraintdef(oid) LIKE '%source%national%'
  LOOP
    EXECUTE format('ALTER TABLE pools DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE pools ADD CONSTRAINT pools_source_known
  CHECK (source ~ '^(national|city|district:[a-z][a-z0-9_]{1,31}|program:[A-Za-z0-9_.-]{1,64})$');

CREATE TABLE programs (
  id                    text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  district              text NOT NULL REFERENCES districts (code),  -- 'city' for the city's own
  funder                text NOT NULL CHECK (funder IN ('national', 'city', 'district')),
  pool_id               bigint NOT NULL UNIQUE REFERENCES pools (id),
  grant_from            date NOT NULL,
  grant_to              date NOT NULL,
  expires_on            date NOT NULL,  -- valid through this Seoul day
  categories            text[],         -- NULL: every category
  over_ceiling_allowed  boolean NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  CHECK (grant_to >= grant_from),
  CHECK (expires_on >= grant_to)
);

-- A member's wallet of one program: its account, in the member's district. The payment path
-- finds a member's wallets here by one probe.
CREATE TABLE program_wallets (
  district    text NOT NULL,
  member_id   text NOT NULL,
  program_id  text NOT NULL,
  account_id  bigint NOT NULL,
  PRIMARY KEY (district, member_id, program_id)
) PARTITION BY LIST (district);

-- One grant per program and member. Grants have no public identifier, so they take their ids from
-- a sequence of their own and leave the operations' (pay-…, load-…) as they were.
CREATE SEQUENCE grant_id_seq;
CREATE TABLE grants (
  district    text NOT NULL,
  id          bigint NOT NULL DEFAULT nextval('grant_id_seq'),
  program_id  text NOT NULL,
  member_id   text NOT NULL,
  amount      bigint NOT NULL CHECK (amount > 0),
  journal_id  bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  UNIQUE (district, program_id, member_id)
) PARTITION BY LIST (district);

-- What a payment took from each wallet, and what cancellations gave back (to the wallet, or to
-- the program's pool once it expired).
CREATE TABLE payment_programs (
  district    text NOT NULL,
  payment_id  bigint NOT NULL,
  program_id  text NOT NULL,
  seq         smallint NOT NULL CHECK (seq >= 1),  -- the spending order
  amount      bigint NOT NULL CHECK (amount > 0),
  refunded    bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  PRIMARY KEY (district, payment_id, program_id),
  CHECK (refunded <= amount)
) PARTITION BY LIST (district);

ALTER TABLE payments ADD COLUMN paid_program bigint NOT NULL DEFAULT 0 CHECK (paid_program >= 0);
ALTER TABLE payments ADD COLUMN refunded_program bigint NOT NULL DEFAULT 0 CHECK (refunded_program >= 0);
ALTER TABLE cancellations ADD COLUMN refund_program bigint NOT NULL DEFAULT 0 CHECK (refund_program >= 0);
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT conrelid::regclass AS tbl, conname FROM pg_constraint
            WHERE conrelid IN ('payments'::regclass, 'cancellations'::regclass) AND contype = 'c' AND conparentid = 0
              AND (pg_get_constraintdef(oid) LIKE '%(paid_points + paid_cash) = charged%'
                   OR pg_get_constraintdef(oid) LIKE '%(refund_cash + refund_points) = amount%')
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
  END LOOP;
END $$;
ALTER TABLE payments ADD CONSTRAINT payments_paid_in_full CHECK (paid_program + paid_points + paid_cash = charged);
ALTER TABLE payments ADD CONSTRAINT payments_program_refund CHECK (refunded_program <= paid_program);
ALTER TABLE cancellations ADD CONSTRAINT cancellations_refund_in_full
  CHECK (refund_cash + refund_points + refund_program = amount);

INSERT INTO district_partitioned_tables VALUES ('program_wallets'), ('grants'), ('payment_programs');
SELECT ledger_create_district_partitions(code) FROM districts;

GRANT SELECT, INSERT ON programs, program_wallets, grants TO evoucher_service;
GRANT USAGE, SELECT ON SEQUENCE grant_id_seq TO evoucher_service;
GRANT SELECT, INSERT, UPDATE ON payment_programs TO evoucher_service;

-- What the expiry batch returned from each wallet to its program's pool.
CREATE TABLE program_expiries (
  district       text NOT NULL,
  id             bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  program_id     text NOT NULL,
  member_id      text NOT NULL,
  amount         bigint NOT NULL CHECK (amount > 0),
  business_date  date NOT NULL,  -- the run's date
  journal_id     bigint NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id)
) PARTITION BY LIST (district);
CREATE INDEX program_expiries_by_program ON program_expiries (program_id);
INSERT INTO district_partitioned_tables VALUES ('program_expiries');
SELECT ledger_create_district_partitions(code) FROM districts;
GRANT SELECT, INSERT ON program_expiries TO evoucher_service;
