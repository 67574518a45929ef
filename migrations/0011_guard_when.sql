-- The accounts guard decides in its WHEN clause whether it has anything to refuse, so that the
-- ledger's own balance updates (about ten thousand accounts a batch chunk, a few dozen a group of
-- payments) no longer call a PL/pgSQL function for every row. Its meaning is unchanged: a
-- balance moves only from inside the entries trigger (trigger depth 1 or more when the UPDATE's
-- row is checked), and an account's identity, side and floor never change.
DROP TRIGGER accounts_balance_guard ON accounts;
CREATE TRIGGER accounts_balance_guard BEFORE UPDATE ON accounts
  FOR EACH ROW
  WHEN (pg_trigger_depth() = 0
        OR (NEW.district, NEW.id, NEW.key, NEW.normal, NEW.min_balance)
           IS DISTINCT FROM (OLD.district, OLD.id, OLD.key, OLD.normal, OLD.min_balance))
  EXECUTE FUNCTION ledger_guard_balance();
