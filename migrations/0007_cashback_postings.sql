-- What the batch posted for each payment moves out of the payment row into a narrow row of its
-- own. A payment row is about 420 bytes: rewriting each one in the batch cost more than every
-- other step of it (most updates found no room on their page, so each also wrote an entry in
-- all five of the payment's indexes). A posting is one insert of a short row, and a payment is
-- pending exactly while it has none.
CREATE TABLE cashback_postings (
  district           text NOT NULL,
  business_date      date NOT NULL,
  payment_id         bigint NOT NULL,
  run                integer NOT NULL CHECK (run >= 1),  -- the batch run of the date that posted it
  -- The pool each source was drawn from. Not foreign keys: `evoucher verify` checks them.
  national_pool_id   bigint,
  city_pool_id       bigint,
  district_pool_id   bigint,
  posted_national    bigint NOT NULL CHECK (posted_national >= 0),
  posted_city        bigint NOT NULL CHECK (posted_city >= 0),
  posted_district    bigint NOT NULL CHECK (posted_district >= 0),
  posted_merchant    bigint NOT NULL CHECK (posted_merchant >= 0),
  unfunded_national  bigint NOT NULL CHECK (unfunded_national >= 0),
  unfunded_city      bigint NOT NULL CHECK (unfunded_city >= 0),
  unfunded_district  bigint NOT NULL CHECK (unfunded_district >= 0),
  clawed_back        bigint NOT NULL DEFAULT 0 CHECK (clawed_back >= 0),
  posted_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, business_date, payment_id)
) PARTITION BY LIST (district);

INSERT INTO district_partitioned_tables VALUES ('cashback_postings');
SELECT ledger_create_district_partitions(code) FROM districts;

INSERT INTO cashback_postings (district, business_date, payment_id, run, national_pool_id, city_pool_id,
                               district_pool_id, posted_national, posted_city, posted_district, posted_merchant,
                               unfunded_national, unfunded_city, unfunded_district, clawed_back, posted_at)
SELECT district, business_date, id, 1, national_pool_id, city_pool_id, district_pool_id, posted_national, posted_city,
       posted_district, posted_merchant, unfunded_national, unfunded_city, unfunded_district, clawed_back,
       cashback_posted_at
  FROM payments WHERE cashback_posted_at IS NOT NULL;

ALTER TABLE payments
  DROP COLUMN national_pool_id, DROP COLUMN city_pool_id, DROP COLUMN district_pool_id,
  DROP COLUMN posted_national, DROP COLUMN posted_city, DROP COLUMN posted_district, DROP COLUMN posted_merchant,
  DROP COLUMN unfunded_national, DROP COLUMN unfunded_city, DROP COLUMN unfunded_district,
  DROP COLUMN clawed_back, DROP COLUMN cashback_posted_at;

-- The payments' event_id is unique per endpoint across the platform in processor_events; the
-- per-district unique index on payments repeats it on every insert. `evoucher verify` still
-- checks that no event was approved twice.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'payments'::regclass AND contype = 'u' AND conparentid = 0
  LOOP
    EXECUTE format('ALTER TABLE payments DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;

-- accounts_by_key served summing a pool's accounts across districts; pools.drawn now holds that
-- sum. The planner preferred it for the money path's lookups by (district, key), which then
-- probed every district's partition instead of one.
DROP INDEX accounts_by_key;
