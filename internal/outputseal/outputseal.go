// Package outputseal encrypts the custom code outputs an enrollment keeps,
// the same way in every store.
//
// Custom code's outputs are kept in the enrollment, unredacted, because
// later actions read them (FIELD_DATA): redacting them would hand those
// actions "[REDACTED]" instead of the value the code returned. So they are
// encrypted with the secrets key instead, like secrets, whenever a key is
// set: a secret the code returned is then never on disk in plain text. The
// execution log keeps its own copy with secret values redacted.
package outputseal

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Prefix starts an enrollment's stored outputs when they are encrypted;
// plain outputs are a JSON object and start with "{".
const Prefix = "enc1:"

// Seal encrypts an enrollment's JSON outputs with aead, bound to the
// enrollment. Without a key (aead nil) there is nothing to protect (code
// can be given no secret), so the JSON is kept as it is; "{}" is kept
// plain too, as it is what most claimed enrollments hold.
func Seal(aead cipher.AEAD, enrollment int64, outputs []byte) (string, error) {
	if aead == nil || string(outputs) == "{}" {
		return string(outputs), nil
	}
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(outputs)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	sealed := aead.Seal(buf, buf, outputs, aad(enrollment))
	return Prefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open returns the JSON outputs Seal stored; plain outputs come back as
// they are.
func Open(aead cipher.AEAD, enrollment int64, stored string) ([]byte, error) {
	rest, ok := strings.CutPrefix(stored, Prefix)
	if !ok {
		return []byte(stored), nil
	}
	if aead == nil {
		return nil, fmt.Errorf("outputs of enrollment %d are encrypted and no secret key is set", enrollment)
	}
	sealed, err := base64.RawStdEncoding.DecodeString(rest)
	ns := aead.NonceSize()
	if err != nil || len(sealed) < ns {
		return nil, fmt.Errorf("outputs of enrollment %d are corrupt", enrollment)
	}
	plain, err := aead.Open(nil, sealed[:ns], sealed[ns:], aad(enrollment))
	if err != nil {
		return nil, fmt.Errorf("decrypt outputs of enrollment %d (was the key changed?): %w", enrollment, err)
	}
	return plain, nil
}

// IsSealed reports whether stored outputs are encrypted.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, Prefix) }

func aad(enrollment int64) []byte {
	return strconv.AppendInt([]byte("enrollment-outputs/"), enrollment, 10)
}
