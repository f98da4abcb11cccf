-- Secrets are encrypted under a key derived from the operator's key
-- (HKDF-SHA256 for a random key, scrypt for a passphrase). Rows written
-- before key derivation keep key_version 1 (AES key = SHA-256 of
-- SPOKE_SECRET_KEY, or secret.key's bytes) until the first start with
-- this version re-encrypts them as key_version 2.
ALTER TABLE secrets ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;

-- secret_key holds the scrypt salt and a check value of the derived key,
-- so a start with the wrong key is refused instead of failing secret by
-- secret. Neither is secret.
CREATE TABLE secret_key (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    salt  BLOB NOT NULL,
    kdf   TEXT NOT NULL,
    check_value BLOB NOT NULL
);
