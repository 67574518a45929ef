-- Members, cards, merchants, versioned policies, funding pools and admin tokens.
-- These are registries, not traffic: they are not partitioned.

CREATE TABLE members (
  id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  district    text NOT NULL REFERENCES districts (code),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards (
  token       text PRIMARY KEY CHECK (token ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  member_id   text NOT NULL REFERENCES members (id),
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cards_by_member ON cards (member_id);

CREATE TABLE merchants (
  id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  business_no      text NOT NULL,
  name             text NOT NULL,
  district         text NOT NULL REFERENCES districts (code),
  category         text NOT NULL,
  annual_revenue   bigint NOT NULL CHECK (annual_revenue >= 0),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  benefit_kind     text CHECK (benefit_kind IN ('pre_discount', 'merchant_cashback')),
  benefit_rate_bp  integer CHECK (benefit_rate_bp BETWEEN 100 AND 700),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((benefit_kind IS NULL) = (benefit_rate_bp IS NULL))
);

-- Versioned by effective time; scope is 'city' or a district code.
CREATE TABLE policies (
  id              bigserial PRIMARY KEY,
  scope           text NOT NULL REFERENCES districts (code),
  effective_from  timestamptz NOT NULL,
  rules           jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (scope, effective_from)
);

-- Money set aside for cashback, one per source and period; drawn is summed from the ledger.
CREATE TABLE pools (
  id            bigserial PRIMARY KEY,
  source        text NOT NULL CHECK (source ~ '^(national|city|district:[a-z][a-z0-9_]{1,31})$'),
  period_start  date NOT NULL,
  period_end    date NOT NULL,
  budget        bigint NOT NULL CHECK (budget > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (period_end >= period_start)
);

CREATE TABLE api_tokens (
  id          bigserial PRIMARY KEY,
  token_hash  text NOT NULL UNIQUE,
  role        text NOT NULL CHECK (role IN ('city_admin', 'district_admin', 'auditor')),
  district    text REFERENCES districts (code),
  name        text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'district_admin') = (district IS NOT NULL))
);
