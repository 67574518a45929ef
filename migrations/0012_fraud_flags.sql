-- Fraud flags (부정유통, PRODUCT.md section 9). A flag never declines a payment: it records it for
-- review. Repeat, large, burst and own-shop are judged in the payment path, from counters written
-- in the same commit as the payment; sales over revenue is judged nightly per merchant and month.

-- A merchant's registered owner, when known: a payment by that member is an own-shop payment.
ALTER TABLE merchants ADD COLUMN owner_member text REFERENCES members (id);

-- Per member and Seoul business day: each merchant paid and how many approved payments it got
-- (repeat), and each approved payment's card and time in ms since the epoch (burst). Only the
-- latest payments within the longest burst window are kept, so a row stays short; a burst that
-- spans midnight reads the day before as well.
CREATE TABLE payment_counters (
  district       text NOT NULL,
  member_id      text NOT NULL,
  business_date  date NOT NULL,
  merchants      text[] NOT NULL,
  counts         integer[] NOT NULL,
  cards          text[] NOT NULL,
  times_ms       bigint[] NOT NULL,
  PRIMARY KEY (district, member_id, business_date),
  CHECK (cardinality(merchants) = cardinality(counts)),
  CHECK (cardinality(cards) = cardinality(times_ms))
) PARTITION BY LIST (district);

-- A confirmed fraud flag takes back what the payment earns: its cashback columns fall to zero
-- and stay there, through later cancellations too.
ALTER TABLE payments ADD COLUMN cashback_forfeited boolean NOT NULL DEFAULT false;

-- A payment's flags are raised once, when it is approved, one per rule; sales over revenue is
-- per merchant and month, under the merchant's own district, and names no payment.
CREATE TABLE flags (
  district       text NOT NULL,
  id             bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  rule           text NOT NULL CHECK (rule IN ('repeat', 'large', 'burst', 'own_shop', 'sales_over_revenue')),
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared', 'confirmed')),
  payment_id     bigint,
  member_id      text,
  merchant_id    text NOT NULL,
  card_token     text,
  occurred_at    timestamptz NOT NULL,  -- the payment's time, or the end of the judged date
  business_date  date NOT NULL,
  month          date CHECK (month IS NULL OR extract(day FROM month) = 1),
  detail         text NOT NULL,
  raised_at      timestamptz NOT NULL DEFAULT now(),
  reviewed_at    timestamptz,
  reviewed_by    text,
  review_note    text,
  merchant_suspended  boolean NOT NULL DEFAULT false,
  clawed_back    bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0),  -- posted cashback taken back
  forfeited      bigint NOT NULL DEFAULT 0 CHECK (forfeited >= 0),    -- cashback the payment no longer earns
  journal_id     bigint,
  PRIMARY KEY (district, id),
  CHECK ((rule = 'sales_over_revenue') = (payment_id IS NULL)),
  CHECK ((rule = 'sales_over_revenue') = (month IS NOT NULL)),
  CHECK ((status = 'open') = (reviewed_at IS NULL))
) PARTITION BY LIST (district);
CREATE UNIQUE INDEX flags_once_per_month ON flags (district, merchant_id, month) WHERE month IS NOT NULL;
CREATE INDEX flags_by_date ON flags (district, business_date, id);

INSERT INTO district_partitioned_tables VALUES ('payment_counters'), ('flags');

-- Counter rows are rewritten by every payment of their member that day: room on each page keeps
-- those updates heap-only.
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
  -- Statement triggers are not inherited: an insert straight into the partition is checked too.
  EXECUTE format('CREATE OR REPLACE TRIGGER entries_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS new_entries '
                 'FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted()', ledger_partition_name('entries', p_code));
END $$;
SELECT ledger_create_district_partitions(code) FROM districts;

GRANT SELECT, INSERT, UPDATE ON payment_counters, flags TO evoucher_service;
