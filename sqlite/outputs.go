package sqlite

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// sealedOutputsPrefix starts an enrollment's outputs column when they are
// encrypted; plain outputs are a JSON object and start with "{".
//
// Custom code's outputs are kept in the enrollment, unredacted, because
// later actions read them (FIELD_DATA): redacting them would hand those
// actions "[REDACTED]" instead of the value the code returned. So they
// are encrypted with the secrets key instead, like secrets, whenever a
// key is set: a secret the code returned is then never on disk in plain
// text. The execution log keeps its own copy with secret values redacted.
const sealedOutputsPrefix = "enc1:"

// sealOutputs encrypts an enrollment's JSON outputs with the secrets key,
// bound to the enrollment. Without a key there is nothing to protect (code
// can be given no secret), so the JSON is kept as it is; "{}" is kept
// plain too, as it is what most claimed enrollments hold.
func (db *DB) sealOutputs(enrollment int64, outputs []byte) (string, error) {
	if db.secrets == nil || string(outputs) == "{}" {
		return string(outputs), nil
	}
	gcm := db.secrets
	buf := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(outputs)+gcm.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	sealed := gcm.Seal(buf, buf, outputs, outputsAAD(enrollment))
	return sealedOutputsPrefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// openOutputs returns the JSON outputs sealOutputs stored.
func (db *DB) openOutputs(enrollment int64, stored string) ([]byte, error) {
	rest, ok := strings.CutPrefix(stored, sealedOutputsPrefix)
	if !ok {
		return []byte(stored), nil
	}
	if db.secrets == nil {
		return nil, fmt.Errorf("outputs of enrollment %d are encrypted and no secret key is set", enrollment)
	}
	sealed, err := base64.RawStdEncoding.DecodeString(rest)
	ns := db.secrets.NonceSize()
	if err != nil || len(sealed) < ns {
		return nil, fmt.Errorf("outputs of enrollment %d are corrupt", enrollment)
	}
	plain, err := db.secrets.Open(nil, sealed[:ns], sealed[ns:], outputsAAD(enrollment))
	if err != nil {
		return nil, fmt.Errorf("decrypt outputs of enrollment %d (was the key changed?): %w", enrollment, err)
	}
	return plain, nil
}

func outputsAAD(enrollment int64) []byte {
	return strconv.AppendInt([]byte("enrollment-outputs/"), enrollment, 10)
}
