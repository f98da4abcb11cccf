package egress

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// HubSpotHosts are the names whose HTTPS connections the proxy terminates
// and sends to Spoke's API, so that code written for HubSpot reaches Spoke
// unchanged.
var HubSpotHosts = []string{"api.hubapi.com", "api.hubspot.com"}

// Files of a [CA] in a data directory.
const (
	CACertFile = "sandbox-ca.pem"
	CAKeyFile  = "sandbox-ca-key.pem"
)

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	caRenewAhead = 30 * 24 * time.Hour
	leafLifetime = 30 * 24 * time.Hour
	leafRenew    = 24 * time.Hour
)

// CA is the certificate authority whose leaf certificates the proxy presents
// for [HubSpotHosts]. Only the sandbox's runtimes trust it, on top of the
// system roots; its certificate is name-constrained to HubSpotHosts, so its
// key cannot vouch for any other name even to them. It is safe for
// concurrent use.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer

	mu      sync.Mutex
	leafKey *ecdsa.PrivateKey
	leaves  map[string]*tls.Certificate
}

// NewCA returns a CA that lives as long as the process, for a Spoke with no
// data directory (spoke run, tests).
func NewCA() (*CA, error) {
	certPEM, keyPEM, err := createCA(HubSpotHosts)
	if err != nil {
		return nil, err
	}
	return parseCA(certPEM, keyPEM)
}

// NewTestCA returns a CA that may sign for any name and lives as long as
// the process. It is for `spoke test` only, whose pool redirects every
// external connection to a local stub (Config.Redirect) that presents its
// leaves for the hosts a test case declares; a server never uses it.
func NewTestCA() (*CA, error) {
	certPEM, keyPEM, err := createCA(nil)
	if err != nil {
		return nil, err
	}
	return parseCA(certPEM, keyPEM)
}

// LoadOrCreateCA returns the CA kept in dir ([CACertFile] and [CAKeyFile],
// mode 0600), creating it on first use and replacing it when it is missing
// a file, close to expiry or not constrained to the current HubSpotHosts.
// A file that exists but cannot be parsed is an error rather than silently
// replaced.
func LoadOrCreateCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("egress: sandbox CA in %s: %w", dir, err)
		}
		if ca.usable(time.Now()) {
			// The key must stay private even if someone loosened its mode.
			if err := os.Chmod(keyPath, 0o600); err != nil {
				return nil, fmt.Errorf("egress: sandbox CA key: %w", err)
			}
			return ca, nil
		}
	} else if (cerr != nil && !errors.Is(cerr, os.ErrNotExist)) || (kerr != nil && !errors.Is(kerr, os.ErrNotExist)) {
		return nil, fmt.Errorf("egress: read sandbox CA in %s: %w", dir, errors.Join(cerr, kerr))
	}
	certPEM, keyPEM, err := createCA(HubSpotHosts)
	if err != nil {
		return nil, err
	}
	// The key first: a certificate on disk without its key would be
	// replaced at the next start anyway.
	if err := writeFileAtomic(keyPath, keyPEM); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM); err != nil {
		return nil, err
	}
	return parseCA(certPEM, keyPEM)
}

// CertPEM returns the CA's certificate in PEM form, for the sandbox's trust
// stores.
func (c *CA) CertPEM() []byte { return slices.Clone(c.certPEM) }

// Certificate returns the CA's parsed certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// usable reports whether the CA can go on being used at now: not close to
// expiry, and constrained to exactly the names the proxy intercepts.
func (c *CA) usable(now time.Time) bool {
	if now.Add(caRenewAhead).After(c.cert.NotAfter) || now.Before(c.cert.NotBefore) {
		return false
	}
	got := slices.Clone(c.cert.PermittedDNSDomains)
	want := slices.Clone(HubSpotHosts)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// createCA makes a CA constrained to the permitted names (none: any name).
func createCA(permitted []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("egress: generate CA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("egress: CA serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:                serial,
		Subject:                     pkix.Name{Organization: []string{"Spoke"}, CommonName: "Spoke sandbox CA"},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(caLifetime),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: len(permitted) > 0,
		PermittedDNSDomains:         slices.Clone(permitted),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("egress: create CA certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("egress: encode CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("the key does not belong to the certificate")
	}
	if !cert.IsCA {
		return nil, errors.New("the certificate is not a CA")
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate leaf key: %w", err)
	}
	return &CA{cert: cert, certPEM: pem.EncodeToMemory(cb), key: key, leafKey: leafKey, leaves: map[string]*tls.Certificate{}}, nil
}

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file, so that a crash never leaves half a key behind.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("egress: write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("egress: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("egress: write %s: %w", path, err)
	}
	return nil
}

// Leaf returns a server certificate for name signed by the CA, valid for 30
// days and reissued a day before it expires.
func (c *CA) Leaf(name string) (*tls.Certificate, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.leaves[name]; l != nil && now.Add(leafRenew).Before(l.Leaf.NotAfter) {
		return l, nil
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("egress: leaf serial: %w", err)
	}
	notAfter := now.Add(leafLifetime)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &c.leafKey.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("egress: leaf certificate for %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("egress: leaf certificate for %s: %w", name, err)
	}
	l := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: c.leafKey, Leaf: leaf}
	c.leaves[name] = l
	return l, nil
}
