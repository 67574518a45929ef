-- Rules that SQL and C++ both need, defined once for SQL: the Seoul business date and the chart
-- of accounts' keys (include/evoucher/time.hpp, include/evoucher/engine/chart_of_accounts.hpp;
-- tests/store/rule_functions_test.cpp checks that the two agree). Each is one expression in plain
-- SQL, IMMUTABLE over immutable operators, so that the planner inlines it: a predicate such as
-- is_member_cash(key) plans exactly as the LIKE it stands for.

-- The business date of an instant: its date in Seoul, UTC+9 all year (Korea keeps no daylight
-- saving time). timestamp + interval is immutable where timestamptz + interval is not.
CREATE FUNCTION seoul_date(instant timestamptz) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ((instant AT TIME ZONE 'UTC') + interval '9 hours')::date;

-- Account keys, built as accounts:: builds them.
CREATE FUNCTION member_cash_key(member text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'member:' || member || ':cash';
CREATE FUNCTION member_points_key(member text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'member:' || member || ':points';
CREATE FUNCTION member_program_key(program text, member text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'program:' || program || ':' || member;
CREATE FUNCTION merchant_payable_key(merchant text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'merchant:' || merchant || ':payable';
CREATE FUNCTION pool_drawn_key(pool_id bigint) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'pool:' || pool_id::text || ':drawn';

-- The kind of account a key names.
CREATE FUNCTION is_member_account(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'member:%';
CREATE FUNCTION is_member_cash(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'member:%:cash';
CREATE FUNCTION is_member_points(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'member:%:points';
CREATE FUNCTION is_member_program(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'program:%';
CREATE FUNCTION is_merchant_payable(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'merchant:%:payable';
CREATE FUNCTION is_pool_drawn(key text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN key LIKE 'pool:%:drawn';
