-- The service's own role: it reads, inserts and updates what its work needs, and can alter,
-- truncate, delete or disable nothing. `serve`, `batch` and `verify` switch to it on every
-- connection (SET ROLE); `migrate` runs as the owner. Triggers stay on: only an owner may
-- disable them, and session_replication_role is the superuser's.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evoucher_service') THEN
    CREATE ROLE evoucher_service NOLOGIN;
  END IF;
END $$;
GRANT evoucher_service TO CURRENT_USER;

GRANT USAGE ON SCHEMA public TO evoucher_service;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO evoucher_service;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO evoucher_service;
GRANT INSERT ON districts, accounts, journals, entries, idempotency_keys, members, cards, merchants, policies, pools,
  pool_top_ups, member_months, loads, refunds, payments, cancellations, batch_runs, settlements, processor_events,
  cashback_postings TO evoucher_service;
-- UPDATE also covers the row locks (members are locked to serialise their money).
GRANT UPDATE ON accounts, idempotency_keys, members, cards, merchants, pools, member_months, payments, cancellations,
  batch_runs, cashback_postings TO evoucher_service;

-- A district's partitions are created by the owner, whoever inserts the district.
ALTER FUNCTION ledger_create_district_partitions(text) SECURITY DEFINER SET search_path = public, pg_temp;

-- An account's identity and rules never change; its balance moves only through entries.
CREATE OR REPLACE FUNCTION ledger_guard_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'accounts.balance of %/% moves only through entries', OLD.district, OLD.key
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF (NEW.district, NEW.id, NEW.key, NEW.normal) IS DISTINCT FROM (OLD.district, OLD.id, OLD.key, OLD.normal)
     OR NEW.min_balance IS DISTINCT FROM OLD.min_balance THEN
    RAISE EXCEPTION 'account %/%: its key, normal side and floor never change', OLD.district, OLD.key
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

-- What the batch posted for a payment stays posted: which run and which pools, and its amounts
-- only fall (a clawback returns them).
CREATE FUNCTION ledger_guard_posting() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.district, NEW.business_date, NEW.payment_id, NEW.run, NEW.national_pool_id, NEW.city_pool_id,
      NEW.district_pool_id, NEW.posted_at)
     IS DISTINCT FROM (OLD.district, OLD.business_date, OLD.payment_id, OLD.run, OLD.national_pool_id,
                       OLD.city_pool_id, OLD.district_pool_id, OLD.posted_at)
     OR NEW.posted_national > OLD.posted_national OR NEW.posted_city > OLD.posted_city
     OR NEW.posted_district > OLD.posted_district OR NEW.posted_merchant > OLD.posted_merchant
     OR NEW.clawed_back < OLD.clawed_back THEN
    RAISE EXCEPTION 'the posting of payment %/% is final: only a clawback lowers it', OLD.district, OLD.payment_id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER cashback_postings_guard BEFORE UPDATE ON cashback_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_guard_posting();
