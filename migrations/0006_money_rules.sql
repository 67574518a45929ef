-- Money rules under time and concurrency: final processor answers, late payments, pools that
-- cannot be overdrawn, settlements of late payments.

-- Every judged processor call, under its event_id, platform-wide per endpoint: approvals,
-- declines (even of an unknown card or merchant) and refusals. A repeat answers from here. The
-- table is also the record of declines, for the fraud work. It is not partitioned by district:
-- an unknown card has none, and the key must be unique across districts.
CREATE TABLE processor_events (
  endpoint      text NOT NULL CHECK (endpoint IN ('payment', 'cancellation', 'settlement')),
  event_id      text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 128),
  request_hash  text NOT NULL,
  status        smallint NOT NULL,
  answer        text NOT NULL,
  -- approved or done (2xx), declined (a payment's 200 decline), refused (4xx)
  decision      text NOT NULL CHECK (decision IN ('approved', 'done', 'declined', 'refused')),
  reason        text,  -- the decline reason or the problem code
  district      text,  -- the card's or the payment's issuing district, when known
  card_token    text,
  member_id     text,
  merchant_id   text,
  amount        bigint,  -- price, cancelled amount or settled amount, as asked
  occurred_at   timestamptz,
  operation     text,  -- pay-…, cxl-… or stl-… when something was recorded
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (endpoint, event_id)
);
CREATE INDEX processor_events_declined ON processor_events (recorded_at) WHERE decision = 'declined';

-- Answers stored before this migration keep answering.
INSERT INTO processor_events (endpoint, event_id, request_hash, status, answer, decision, reason, district)
SELECT split_part(k.key, ':', 1), substr(k.key, length(split_part(k.key, ':', 1)) + 2), k.request_hash, k.status,
       k.answer,
       CASE WHEN k.answer::jsonb ->> 'decision' IN ('approved', 'declined') THEN k.answer::jsonb ->> 'decision'
            WHEN k.status < 300 THEN 'done' ELSE 'refused' END,
       coalesce(k.answer::jsonb ->> 'reason', k.answer::jsonb ->> 'code'), k.district
  FROM idempotency_keys k
 WHERE split_part(k.key, ':', 1) IN ('payment', 'cancellation', 'settlement') AND k.status IS NOT NULL
ON CONFLICT (endpoint, event_id) DO NOTHING;

-- A load or refund may not be stamped before the member's latest one: one probe finds it.
CREATE INDEX loads_by_member_time ON loads (district, member_id, occurred_at);
DROP INDEX loads_by_member;
CREATE INDEX refunds_by_member_time ON refunds (district, member_id, occurred_at);
DROP INDEX refunds_by_member;

-- Late payments: a date's batch may run again, as a further run, for what arrived after it.
-- batch_runs keeps the latest completed report while a further run is under way.
ALTER TABLE batch_runs ADD COLUMN run integer NOT NULL DEFAULT 1 CHECK (run >= 1);
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'batch_runs'::regclass AND contype = 'c' AND conparentid = 0
              AND pg_get_constraintdef(oid) LIKE '%report IS NOT NULL%'
  LOOP
    EXECUTE format('ALTER TABLE batch_runs DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_completed_has_report
  CHECK (status <> 'completed' OR report IS NOT NULL);

-- Pools: what was drawn is kept on the pool row by the database itself, from every entry on a
-- pool's drawn account in any district, and it may never pass the budget. Two batches drawing one
-- pool at once serialise on that row, and the loser's statement fails rather than overdraws.
ALTER TABLE pools ADD COLUMN drawn bigint NOT NULL DEFAULT 0;
UPDATE pools p SET drawn = coalesce((SELECT sum(a.balance) FROM accounts a WHERE a.key = 'pool:' || p.id || ':drawn'), 0);
ALTER TABLE pools ADD CONSTRAINT pools_within_budget CHECK (drawn >= 0 AND drawn <= budget) NOT VALID;

CREATE FUNCTION pools_follow_drawn_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE pools SET drawn = drawn + (NEW.balance - OLD.balance) WHERE id = split_part(NEW.key, ':', 2)::bigint;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'account %/% names no pool', NEW.district, NEW.key USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER pool_drawn_moved AFTER UPDATE OF balance ON accounts
  FOR EACH ROW WHEN (NEW.key LIKE 'pool:%:drawn' AND NEW.balance <> OLD.balance)
  EXECUTE FUNCTION pools_follow_drawn_account();

-- Two pools of one source may not overlap in period.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE pools ADD CONSTRAINT pools_no_overlap
  EXCLUDE USING gist (source WITH =, daterange(period_start, period_end, '[]') WITH &&);

-- A budget grows by top-ups, each recorded.
CREATE TABLE pool_top_ups (
  id          bigserial PRIMARY KEY,
  pool_id     bigint NOT NULL REFERENCES pools (id),
  amount      bigint NOT NULL CHECK (amount > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- A merchant's date may be settled more than once: a payment that arrives late, after the
-- date's settlement, is settled by a further one.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
            WHERE conrelid = 'settlements'::regclass AND contype = 'u' AND conparentid = 0
  LOOP
    EXECUTE format('ALTER TABLE settlements DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
CREATE INDEX settlements_by_merchant_date ON settlements (merchant_id, business_date);
