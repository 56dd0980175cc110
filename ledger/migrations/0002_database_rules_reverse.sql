-- Reverse of 0002_database_rules.sql.
DROP TRIGGER IF EXISTS ledger_account_no_delete ON ledger_account;
DROP TRIGGER IF EXISTS ledger_account_immutable ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_immutable();
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_posting_matches_account ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_matches_account();
DROP TRIGGER IF EXISTS ledger_journalentry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_balanced_on_entry();
DROP FUNCTION IF EXISTS ledger_check_entry_balanced(bigint);
ALTER TABLE ledger_journalentry DROP COLUMN IF EXISTS created_txid;
