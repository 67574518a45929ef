-- Loads, payments, cancellations and refunds, and each member's month, partitioned by the
-- issuing district like the ledger they post to.

CREATE SEQUENCE operation_id_seq;

-- A member's running totals for one Seoul month: what was loaded, and the eligible spend
-- that counts toward the cashback cap.
CREATE TABLE member_months (
  district        text NOT NULL REFERENCES districts (code),
  member_id       text NOT NULL,
  month           date NOT NULL CHECK (extract(day FROM month) = 1),
  loaded          bigint NOT NULL DEFAULT 0 CHECK (loaded >= 0),
  eligible_spent  bigint NOT NULL DEFAULT 0 CHECK (eligible_spent >= 0),
  PRIMARY KEY (district, member_id, month)
) PARTITION BY LIST (district);

CREATE TABLE loads (
  district     text NOT NULL REFERENCES districts (code),
  id           bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  member_id    text NOT NULL,
  amount       bigint NOT NULL CHECK (amount > 0),
  bank_ref     text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  journal_id   bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id)
) PARTITION BY LIST (district);
CREATE INDEX loads_by_member ON loads (district, member_id);

CREATE TABLE refunds (
  district     text NOT NULL REFERENCES districts (code),
  id           bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  member_id    text NOT NULL,
  amount       bigint NOT NULL CHECK (amount > 0),
  bank_ref     text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  journal_id   bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id)
) PARTITION BY LIST (district);
CREATE INDEX refunds_by_member ON refunds (district, member_id);

-- An approved payment. The merchant's terms and the policy versions are kept as they were at
-- approval, so that cancellations are judged the same way. The cashback and fee-support
-- columns hold what the remaining (uncancelled) amount earns.
CREATE TABLE payments (
  district            text NOT NULL REFERENCES districts (code),
  id                  bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  event_id            text NOT NULL,
  card_token          text NOT NULL,
  member_id           text NOT NULL,
  merchant_id         text NOT NULL,
  merchant_district   text NOT NULL,
  merchant_category   text NOT NULL,
  merchant_revenue    bigint NOT NULL,
  benefit_kind        text,
  benefit_rate_bp     integer,
  channel             text NOT NULL CHECK (channel IN ('card', 'qr')),
  price               bigint NOT NULL CHECK (price > 0),
  discount            bigint NOT NULL CHECK (discount >= 0),
  charged             bigint NOT NULL CHECK (charged > 0),
  paid_points         bigint NOT NULL CHECK (paid_points >= 0),
  paid_cash           bigint NOT NULL CHECK (paid_cash >= 0),
  eligible_before     bigint NOT NULL,
  eligible            bigint NOT NULL CHECK (eligible >= 0),
  city_cashback       bigint NOT NULL CHECK (city_cashback >= 0),
  district_cashback   bigint NOT NULL CHECK (district_cashback >= 0),
  merchant_cashback   bigint NOT NULL CHECK (merchant_cashback >= 0),
  fee_support         bigint NOT NULL CHECK (fee_support >= 0),
  cancelled           bigint NOT NULL DEFAULT 0,
  refunded_cash       bigint NOT NULL DEFAULT 0,
  city_policy_id      bigint REFERENCES policies (id),
  district_policy_id  bigint REFERENCES policies (id),
  occurred_at         timestamptz NOT NULL,
  business_date       date NOT NULL,
  journal_id          bigint NOT NULL,
  cashback_posted_at  timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  UNIQUE (district, event_id),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id),
  CHECK (charged = price - discount),
  CHECK (paid_points + paid_cash = charged),
  CHECK (cancelled BETWEEN 0 AND charged),
  CHECK (refunded_cash BETWEEN 0 AND paid_cash)
) PARTITION BY LIST (district);
CREATE INDEX payments_by_member ON payments (district, member_id);
CREATE INDEX payments_by_date ON payments (district, business_date, occurred_at);

CREATE TABLE cancellations (
  district              text NOT NULL REFERENCES districts (code),
  id                    bigint NOT NULL DEFAULT nextval('operation_id_seq'),
  event_id              text NOT NULL,
  payment_id            bigint NOT NULL,
  amount                bigint NOT NULL CHECK (amount > 0),
  refund_cash           bigint NOT NULL CHECK (refund_cash >= 0),
  refund_points         bigint NOT NULL CHECK (refund_points >= 0),
  reversed_city         bigint NOT NULL,
  reversed_district     bigint NOT NULL,
  reversed_merchant     bigint NOT NULL,
  reversed_fee_support  bigint NOT NULL,
  eligible_reduction    bigint NOT NULL,
  occurred_at           timestamptz NOT NULL,
  business_date         date NOT NULL,
  journal_id            bigint NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (district, id),
  UNIQUE (district, event_id),
  FOREIGN KEY (district, payment_id) REFERENCES payments (district, id),
  FOREIGN KEY (district, journal_id) REFERENCES journals (district, id),
  CHECK (refund_cash + refund_points = amount)
) PARTITION BY LIST (district);
CREATE INDEX cancellations_by_payment ON cancellations (district, payment_id);

INSERT INTO district_partitioned_tables VALUES
  ('member_months'), ('loads'), ('refunds'), ('payments'), ('cancellations');
SELECT ledger_create_district_partitions(code) FROM districts;
