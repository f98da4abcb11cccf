package sandbox

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spokehq/spoke/sandbox/egress"
)

// TestSubjectHash compares subjectHash with OpenSSL's own for Spoke's CA
// and for names that exercise the canonical form (case, spaces, several
// RDNs, PrintableString).
func TestSubjectHash(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	ca, err := egress.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certs := []*x509.Certificate{ca.Certificate()}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, name := range []pkix.Name{
		{CommonName: "  Mixed   CASE  name ", Organization: []string{"ACME Corp"}, Country: []string{"GB"}},
		{CommonName: "x", OrganizationalUnit: []string{"A", "b"}, Locality: []string{"Zürich"}},
	} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		certs = append(certs, c)
	}
	for _, c := range certs {
		f := filepath.Join(t.TempDir(), "c.pem")
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600)
		out, err := exec.Command(openssl, "x509", "-hash", "-noout", "-in", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		got, err := subjectHash(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(string(out)); fmt.Sprintf("%08x", got) != want {
			t.Errorf("%s: hash %08x, openssl says %s", c.Subject, got, want)
		}
	}
}
