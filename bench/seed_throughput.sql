-- The throughput benchmark's data, in bulk: four districts, 100,000 members with cards and
-- cash, 2,000 merchants of the spread workload and one hot merchant. Members' cash arrives as
-- one balanced load journal per district, as if each member had loaded once, with a load row each.
\set ON_ERROR_STOP on
INSERT INTO districts (code, name, brand) VALUES
  ('city', '인천광역시', '인천e음'), ('bupyeong', '부평구', '부평e음'), ('yeonsu', '연수구', '연수e음'),
  ('namdong', '남동구', '남동e음'), ('seo', '서구', '서로e음');
INSERT INTO accounts (district, key, normal) SELECT code, 'float', 1 FROM districts ON CONFLICT DO NOTHING;
INSERT INTO accounts (district, key, normal) SELECT code, 'fee_support', 1 FROM districts ON CONFLICT DO NOTHING;
INSERT INTO policies (scope, effective_from, rules) VALUES
  ('city', '2020-01-01T00:00:00+09:00',
   '{"brackets":[{"up_to":500000,"rate_bp":1000},{"up_to":1000000,"rate_bp":100}],"funding_split":{"national":4,"city":2},"revenue_tiers":[{"over":300000000,"percent_of_rate":50}],"excluded_categories":{"voucher":["department_store"],"cashback":["gambling"]}}'),
  ('bupyeong', '2020-01-01T00:00:00+09:00', '{"topup_bp":200,"fee_support_bp":50}'),
  ('yeonsu', '2020-01-01T00:00:00+09:00', '{"topup_bp":100,"fee_support_bp":0}');

CREATE TEMP TABLE bench_districts (n int PRIMARY KEY, code text);
INSERT INTO bench_districts VALUES (0, 'bupyeong'), (1, 'yeonsu'), (2, 'namdong'), (3, 'seo');

INSERT INTO members (id, district) SELECT 'm' || g, d.code FROM generate_series(1, 100000) g
  JOIN bench_districts d ON d.n = g % 4;
INSERT INTO accounts (district, key, normal, min_balance) SELECT district, 'member:' || id || ':cash', -1, 0 FROM members;
INSERT INTO accounts (district, key, normal) SELECT district, 'member:' || id || ':points', -1 FROM members;
INSERT INTO cards (token, member_id) SELECT 'c' || substr(id, 2), id FROM members;

INSERT INTO merchants (id, business_no, name, district, category, annual_revenue, benefit_kind, benefit_rate_bp)
SELECT 'x' || g, 'b' || g, 'shop ' || g, d.code, CASE WHEN g % 10 = 0 THEN 'restaurant' ELSE 'cafe' END,
       CASE WHEN g % 7 = 0 THEN 500000000 ELSE 100000000 END,
       CASE g % 4 WHEN 0 THEN 'pre_discount' WHEN 1 THEN 'merchant_cashback' END,
       CASE g % 4 WHEN 0 THEN 300 WHEN 1 THEN 200 END
  FROM generate_series(1, 2000) g JOIN bench_districts d ON d.n = g % 4;
INSERT INTO merchants (id, business_no, name, district, category, annual_revenue, benefit_kind, benefit_rate_bp)
VALUES ('hot', 'b-hot', 'the hot shop', 'bupyeong', 'cafe', 200000000, 'pre_discount', 500);

-- Each member loads 5,000,000 won: one journal per district.
BEGIN;
INSERT INTO journals (district, id, kind, occurred_at, reference)
SELECT code, nextval('journal_id_seq'), 'load', now(), 'bench seed' FROM bench_districts;
INSERT INTO entries (district, journal_id, seq, account_id, amount)
SELECT a.district, j.id, row_number() OVER (PARTITION BY a.district ORDER BY a.id),
       a.id, CASE WHEN a.key = 'float' THEN 5000000::bigint * (SELECT count(*) FROM members m WHERE m.district = a.district)
                  ELSE -5000000 END
  FROM accounts a JOIN journals j ON j.district = a.district AND j.kind = 'load' AND j.reference = 'bench seed'
 WHERE a.key = 'float' OR a.key LIKE 'member:%:cash';
-- The records beside the ledger, as the money path keeps them: a load row per member under its
-- district's journal, and the member's month (verify reconciles both with the ledger).
INSERT INTO loads (district, member_id, amount, bank_ref, occurred_at, journal_id)
SELECT m.district, m.id, 5000000, 'bench seed', now(), j.id
  FROM members m JOIN journals j ON j.district = m.district AND j.kind = 'load' AND j.reference = 'bench seed';
INSERT INTO member_months (district, member_id, month, loaded)
SELECT district, id, date_trunc('month', now() AT TIME ZONE 'UTC' + interval '9 hours')::date, 5000000 FROM members;
COMMIT;
VACUUM ANALYZE;
