package sandbox

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spokehq/spoke/sandbox/egress"
)

// The sandbox's trust store, in the pool's runtime directory and under
// /opt/spoke inside.
const (
	// caFile is Spoke's CA alone: Node's NODE_EXTRA_CA_CERTS, and Python's
	// SSL_CERT_FILE.
	caFile = "ca.pem"
	// certDir is an OpenSSL hashed directory: the system roots (links into
	// /etc/ssl/certs, which every sandbox binds) plus Spoke's CA. Python's
	// REQUESTS_CA_BUNDLE and SSL_CERT_DIR point at it.
	certDir = "certs"
	// systemCertDir is the system's hashed roots directory.
	systemCertDir = "/etc/ssl/certs"
)

// hashedName matches OpenSSL's hashed entries: 8 hex digits, a dot, a
// sequence number.
var hashedName = regexp.MustCompile(`^[0-9a-f]{8}\.[0-9]+$`)

// writeTrust writes the CA's certificate and the hashed directory into dir.
//
// A directory rather than a bundle file: OpenSSL reads a bundle whole for
// every new TLS context (requests makes one per connection), which took
// 120-210 ms per request on the 2-core machine, while a hashed directory is
// searched only for the issuer at hand (1.5 ms).
func writeTrust(dir string, ca *egress.CA) error {
	certPEM := ca.CertPEM()
	if err := os.WriteFile(filepath.Join(dir, caFile), certPEM, 0o644); err != nil {
		return fmt.Errorf("sandbox: write CA: %w", err)
	}
	cd := filepath.Join(dir, certDir)
	if err := os.Mkdir(cd, 0o755); err != nil {
		return fmt.Errorf("sandbox: CA directory: %w", err)
	}
	taken := map[string]bool{}
	entries, _ := os.ReadDir(systemCertDir) // no system roots: Spoke's CA alone
	for _, e := range entries {
		if !hashedName.MatchString(e.Name()) {
			continue
		}
		// The link resolves inside the sandbox, where /etc/ssl/certs is
		// bound at the same place.
		if err := os.Symlink(filepath.Join(systemCertDir, e.Name()), filepath.Join(cd, e.Name())); err != nil {
			return fmt.Errorf("sandbox: CA directory: %w", err)
		}
		taken[e.Name()] = true
	}
	h, err := subjectHash(ca.Certificate())
	if err != nil {
		return fmt.Errorf("sandbox: CA subject hash: %w", err)
	}
	name := ""
	for i := 0; name == "" || taken[name]; i++ {
		name = fmt.Sprintf("%08x.%d", h, i)
	}
	if err := os.WriteFile(filepath.Join(cd, name), certPEM, 0o644); err != nil {
		return fmt.Errorf("sandbox: write CA: %w", err)
	}
	return nil
}

// subjectHash is OpenSSL's X509_NAME_hash (what `openssl x509 -hash`
// prints): the first four bytes, little-endian, of the SHA-1 of the
// subject's canonical encoding, in which every string value is UTF-8,
// trimmed, with runs of spaces collapsed and ASCII lower-cased, and the
// RDN SETs follow each other without the outer SEQUENCE.
func subjectHash(cert *x509.Certificate) (uint32, error) {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(cert.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return 0, fmt.Errorf("parse subject: %w", errors.Join(err, errors.New("trailing data")))
	}
	var canon []byte
	for _, rdn := range rdns {
		var atvs []struct {
			Type  asn1.ObjectIdentifier
			Value asn1.RawValue
		}
		if _, err := asn1.UnmarshalWithParams(rdn.FullBytes, &atvs, "set"); err != nil {
			return 0, fmt.Errorf("parse subject RDN: %w", err)
		}
		var set []byte
		for _, atv := range atvs {
			v := atv.Value
			if v.Class == asn1.ClassUniversal && isStringTag(v.Tag) {
				v = asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(canonString(string(v.Bytes)))}
			} else {
				v = asn1.RawValue{FullBytes: v.FullBytes}
			}
			b, err := asn1.Marshal(struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}{atv.Type, v})
			if err != nil {
				return 0, fmt.Errorf("encode subject: %w", err)
			}
			set = append(set, b...)
		}
		b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: set})
		if err != nil {
			return 0, fmt.Errorf("encode subject: %w", err)
		}
		canon = append(canon, b...)
	}
	sum := sha1.Sum(canon)
	return binary.LittleEndian.Uint32(sum[:4]), nil
}

// isStringTag reports whether OpenSSL canonicalises values of tag
// (PrintableString, UTF8String, IA5String, T61String and the like). Only
// ASCII-compatible ones are handled; Spoke's own CA uses UTF8String and
// PrintableString.
func isStringTag(tag int) bool {
	switch tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, 26 /* VisibleString */ :
		return true
	}
	return false
}

func canonString(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' }), " ")
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
