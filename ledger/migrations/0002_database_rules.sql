-- Ledger rules PostgreSQL enforces on its own, so that a stray ORM call, a bug in a
-- service or a shell session cannot unbalance or rewrite the books.
-- Installed by 0002_database_rules.py; removed by 0002_database_rules_reverse.sql.
-- Refusals use SQLSTATE class 23 (integrity constraint violation), which Django raises as
-- IntegrityError.

-- 1. Every journal entry has at least two postings and, per currency, its debits equal its
--    credits. A constraint trigger DEFERRABLE INITIALLY DEFERRED on each new entry runs at
--    COMMIT, when all of the entry's postings are in. Postings may only be added in the
--    transaction that created their entry (rule 2 below, via the `created_txid` column,
--    which the ORM never sees), so that one check per entry covers every posting: a posting
--    sneaked into an old entry is refused outright. (txid_current() is the top-level
--    transaction's id, the same inside savepoints.)
ALTER TABLE ledger_journalentry
    ADD COLUMN created_txid bigint NOT NULL DEFAULT txid_current();

CREATE OR REPLACE FUNCTION ledger_check_entry_balanced(p_entry_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n_postings bigint;
    bad_currency text;
    bad_debits bigint;
    bad_credits bigint;
BEGIN
    -- One pass over the entry's postings (index on entry_id): how many, and the first
    -- currency whose debits and credits differ.
    SELECT coalesce(sum(k), 0),
           min(currency) FILTER (WHERE d <> c)
      INTO n_postings, bad_currency
      FROM (SELECT currency, count(*) AS k, sum(debit_minor) AS d, sum(credit_minor) AS c
              FROM ledger_posting WHERE entry_id = p_entry_id GROUP BY currency) per_currency;
    IF n_postings < 2 THEN
        RAISE EXCEPTION 'ledger: journal entry % has % posting(s); at least two are required',
            p_entry_id, n_postings
            USING ERRCODE = 'check_violation';
    END IF;
    IF bad_currency IS NOT NULL THEN
        SELECT sum(debit_minor), sum(credit_minor) INTO bad_debits, bad_credits
          FROM ledger_posting WHERE entry_id = p_entry_id AND currency = bad_currency;
        RAISE EXCEPTION 'ledger: journal entry % is unbalanced in %: debits % <> credits %',
            p_entry_id, bad_currency, bad_debits, bad_credits
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_entry_balanced_on_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry_balanced(NEW.id);
    RETURN NULL;
END;
$$;


CREATE CONSTRAINT TRIGGER ledger_journalentry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_on_entry();


-- 2. A posting belongs to an entry created in the same transaction; its currency is its
--    account's; nothing is posted to a closed account.
CREATE OR REPLACE FUNCTION ledger_posting_matches_account() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    acc record;
    entry_txid bigint;
BEGIN
    SELECT created_txid INTO entry_txid FROM ledger_journalentry WHERE id = NEW.entry_id;
    IF FOUND AND entry_txid <> txid_current() THEN
        RAISE EXCEPTION 'ledger: journal entry % is closed to new postings; post a new entry',
            NEW.entry_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, status INTO acc FROM ledger_account WHERE id = NEW.account_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key reports the missing account
    END IF;
    IF acc.currency <> NEW.currency THEN
        RAISE EXCEPTION 'ledger: posting in % to account % which is in %',
            NEW.currency, NEW.account_id, acc.currency
            USING ERRCODE = 'check_violation';
    END IF;
    IF acc.status <> 'open' THEN
        RAISE EXCEPTION 'ledger: account % is closed', NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_posting_matches_account
    BEFORE INSERT ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_matches_account();

-- 3. Entries and postings are append-only: mistakes are corrected by a reversing entry.
--    (TRUNCATE, which needs table ownership, stays possible for test-database flushes.)
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % is append-only; % refused (post a reversing entry instead)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- 4. An account's identity is fixed once opened: its code, type, currency and
--    no-negative flag (postings, balances and their CHECKs rely on them). Only its
--    name, status and closing time may change.
CREATE OR REPLACE FUNCTION ledger_account_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.code IS DISTINCT FROM OLD.code
       OR NEW.type IS DISTINCT FROM OLD.type
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.allow_negative IS DISTINCT FROM OLD.allow_negative
       OR NEW.owner IS DISTINCT FROM OLD.owner THEN
        RAISE EXCEPTION 'ledger: account % code, type, currency, owner and allow_negative are immutable',
            OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_account_immutable
    BEFORE UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_immutable();

CREATE TRIGGER ledger_account_no_delete
    BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
