-- The audit trail: one row for every admin write that changed or stored something, inserted in
-- the transaction of that change. Append-only: the service may insert and read it, and nobody
-- may change or remove a row short of dropping the table's triggers as its owner.
CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  token_name  text NOT NULL CHECK (token_name <> ''),
  role        text NOT NULL CHECK (role IN ('city_admin', 'district_admin', 'auditor')),
  -- Whose resource: a district code, or 'city' for city-wide ones (districts, city policies,
  -- the national and city pools).
  district    text NOT NULL,
  method      text NOT NULL CHECK (method IN ('POST', 'PATCH', 'PUT', 'DELETE')),
  path        text NOT NULL,
  resource    text NOT NULL,
  status      integer NOT NULL CHECK (status BETWEEN 200 AND 599)
);
CREATE INDEX audit_log_by_district ON audit_log (district, at, id);
CREATE INDEX audit_log_by_time ON audit_log (at, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

GRANT SELECT, INSERT ON audit_log TO evoucher_service;
