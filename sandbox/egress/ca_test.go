package egress_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/spokehq/spoke/sandbox/egress"
)

func TestLoadOrCreateCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, err := egress.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{egress.CACertFile, egress.CAKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, st.Mode().Perm())
		}
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, egress.CACertFile))
	if !bytes.Equal(onDisk, ca.CertPEM()) {
		t.Errorf("the certificate on disk is not the CA's")
	}
	keyBefore, _ := os.ReadFile(filepath.Join(dir, egress.CAKeyFile))

	// A second start reuses the CA, and tightens a loosened key.
	os.Chmod(filepath.Join(dir, egress.CAKeyFile), 0o644)
	again, err := egress.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Errorf("a second start made a new CA")
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, egress.CAKeyFile))
	if !bytes.Equal(keyBefore, keyAfter) {
		t.Errorf("a second start rewrote the key")
	}
	if st, _ := os.Stat(filepath.Join(dir, egress.CAKeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o after reload, want 600", st.Mode().Perm())
	}

	// Another data directory has another CA, and so has a process without
	// one.
	other, err := egress.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	eph, err := egress.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.CertPEM(), ca.CertPEM()) || bytes.Equal(eph.CertPEM(), ca.CertPEM()) {
		t.Errorf("two CAs share a certificate")
	}

	// A missing key means a new CA; a corrupt file is an error, not
	// silently replaced.
	os.Remove(filepath.Join(dir, egress.CAKeyFile))
	renewed, err := egress.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(renewed.CertPEM(), ca.CertPEM()) {
		t.Errorf("a CA without its key was kept")
	}
	os.WriteFile(filepath.Join(dir, egress.CACertFile), []byte("garbage"), 0o600)
	if _, err := egress.LoadOrCreateCA(dir); err == nil {
		t.Errorf("a corrupt CA certificate was accepted")
	}
}

// TestCALeaf checks the leaf certificates: valid for HubSpot's API names
// under the CA, and useless for any other name because the CA is
// name-constrained.
func TestCALeaf(t *testing.T) {
	t.Parallel()
	ca, err := egress.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	for _, name := range egress.HubSpotHosts {
		l, err := ca.Leaf(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("leaf for %s: %v", name, err)
		}
		if again, _ := ca.Leaf(name); again != l {
			t.Errorf("leaf for %s was not cached", name)
		}
	}
	evil, err := ca.Leaf("bank.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evil.Leaf.Verify(x509.VerifyOptions{DNSName: "bank.example.com", Roots: roots}); err == nil {
		t.Errorf("the CA vouches for bank.example.com")
	}
}
