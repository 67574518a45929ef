-- Least privilege for real, and one key space per request.
--
-- 1. No SECURITY DEFINER function is callable by PUBLIC: only the service's role may run them.
-- 2. The service's role may not rewrite what it recorded: a pool's budget rises only with a
--    top-up row and its draw moves only through the ledger; a stored answer is written once; a
--    payment's recorded figures move only as a cancellation or a confirmed fraud review moves
--    them. Each guard decides in its WHEN clause, so the money path's own writes call no function.
-- 3. An Idempotency-Key names one request whatever the endpoint: stored keys lose the endpoint
--    prefix they carried ("load:", "refund:", ...). The request hash tells the endpoints apart.

DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prosecdef LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO evoucher_service', f);
  END LOOP;
END $$;

-- Pools: the budget rises by the top-ups' rows; `drawn` follows the pool's drawn accounts (a
-- trigger two levels below the entries' insert). Neither is written by a statement of the service.
CREATE FUNCTION pools_follow_top_up() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pools SET budget = budget + NEW.amount WHERE id = NEW.pool_id;
  RETURN NULL;
END $$;
CREATE TRIGGER pool_topped_up AFTER INSERT ON pool_top_ups
  FOR EACH ROW EXECUTE FUNCTION pools_follow_top_up();

CREATE FUNCTION ledger_refuse_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER pools_guard BEFORE UPDATE ON pools
  FOR EACH ROW
  WHEN (pg_trigger_depth() = 0
        AND (NEW.id, NEW.source, NEW.period_start, NEW.period_end, NEW.budget, NEW.drawn)
            IS DISTINCT FROM (OLD.id, OLD.source, OLD.period_start, OLD.period_end, OLD.budget, OLD.drawn))
  EXECUTE FUNCTION ledger_refuse_row('pools: a pool''s budget rises only by a top-up, and its draw moves only through the ledger');
CREATE TRIGGER pools_insert_guard BEFORE INSERT ON pools
  FOR EACH ROW WHEN (NEW.drawn <> 0)
  EXECUTE FUNCTION ledger_refuse_row('pools: a new pool has drawn nothing');

-- Keys stored under an endpoint's prefix lose it. Where one key was used on two endpoints before
-- (load:K and refund:K), one of them takes the plain K and the others keep their prefix: a retry
-- of the first replays its answer, a retry of another meets K with another request and gets 409,
-- and neither runs twice. The plain form is computed once a key, and counted with a window.
UPDATE idempotency_keys k SET key = s.plain
  FROM (SELECT district, key, plain, row_number() OVER (PARTITION BY district, plain ORDER BY key) AS nth
          FROM (SELECT district, key,
                       substring(key FROM '^(?:load|refund|pool|pool-top-up|program|batch|expiry|grant:[^:]*):(.*)$')
                         AS plain
                  FROM idempotency_keys) p
         WHERE plain IS NOT NULL) s
 WHERE k.district = s.district AND k.key = s.key AND s.nth = 1
   AND NOT EXISTS (SELECT 1 FROM idempotency_keys o WHERE o.district = s.district AND o.key = s.plain);

-- Answers stored before migration 0006 named no operation: each approved payment and each done
-- cancellation gets the one it recorded, so that verify can match every answer with its record.
UPDATE processor_events e SET operation = format('pay-%s-%s', p.district, p.id)
  FROM payments p
 WHERE e.endpoint = 'payment' AND e.decision = 'approved' AND e.operation IS NULL
   AND p.district = e.district AND p.event_id = e.event_id;
UPDATE processor_events e SET operation = format('cxl-%s-%s', c.district, c.id)
  FROM cancellations c
 WHERE e.endpoint = 'cancellation' AND e.decision = 'done' AND e.operation IS NULL
   AND c.district = e.district AND c.event_id = e.event_id;

-- A stored answer is written once, to the key that claimed it.
CREATE TRIGGER idempotency_keys_guard BEFORE UPDATE ON idempotency_keys
  FOR EACH ROW
  WHEN (OLD.status IS NOT NULL
        OR (NEW.district, NEW.key, NEW.request_hash) IS DISTINCT FROM (OLD.district, OLD.key, OLD.request_hash))
  EXECUTE FUNCTION ledger_refuse_row('idempotency_keys: a stored answer is final');

-- A payment's figures move only as cancellations and reviews move them: what was cancelled and
-- refunded only rises, what it earns only falls, and a forfeit is for good. What it was (who,
-- where, the price and how it was paid, the policies, the time, the journal) never changes.
CREATE TRIGGER payments_guard BEFORE UPDATE ON payments
  FOR EACH ROW
  WHEN ((NEW.district, NEW.id, NEW.event_id, NEW.card_token, NEW.member_id, NEW.merchant_id, NEW.merchant_district,
         NEW.merchant_category, NEW.merchant_revenue, NEW.benefit_kind, NEW.benefit_rate_bp, NEW.channel, NEW.price,
         NEW.discount, NEW.charged, NEW.paid_points, NEW.paid_cash, NEW.paid_program, NEW.eligible_before,
         NEW.city_policy_id, NEW.district_policy_id, NEW.occurred_at, NEW.business_date, NEW.journal_id,
         NEW.created_at)
        IS DISTINCT FROM
        (OLD.district, OLD.id, OLD.event_id, OLD.card_token, OLD.member_id, OLD.merchant_id, OLD.merchant_district,
         OLD.merchant_category, OLD.merchant_revenue, OLD.benefit_kind, OLD.benefit_rate_bp, OLD.channel, OLD.price,
         OLD.discount, OLD.charged, OLD.paid_points, OLD.paid_cash, OLD.paid_program, OLD.eligible_before,
         OLD.city_policy_id, OLD.district_policy_id, OLD.occurred_at, OLD.business_date, OLD.journal_id,
         OLD.created_at)
        OR NEW.cancelled < OLD.cancelled OR NEW.refunded_cash < OLD.refunded_cash
        OR NEW.refunded_program < OLD.refunded_program
        OR NEW.eligible > OLD.eligible OR NEW.city_cashback > OLD.city_cashback
        OR NEW.district_cashback > OLD.district_cashback OR NEW.merchant_cashback > OLD.merchant_cashback
        OR NEW.fee_support > OLD.fee_support OR (OLD.cashback_forfeited AND NOT NEW.cashback_forfeited))
  EXECUTE FUNCTION ledger_refuse_row('payments: a payment''s figures move only by its cancellations and reviews');
