// Package tlscert keeps the gateway's TLS certificate loaded from its
// files and re-reads them when they change, so that a renewed certificate
// (certbot, cert-manager) is served without a restart and without
// dropping a connection: the certificate is chosen at each handshake
// (tls.Config.GetCertificate), and connections already made keep theirs.
package tlscert

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckEvery is how often, at most, a handshake looks at the files'
// modification times: a stat of two files, not a read, a few times a
// minute at most however many clients connect.
const DefaultCheckEvery = 5 * time.Second

// Reloader holds a certificate and its key, loaded from two PEM files.
type Reloader struct {
	certFile, keyFile string
	checkEvery        time.Duration
	log               *slog.Logger

	cert      atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // unix nanoseconds of the last look at the files

	mu     sync.Mutex // one reload at a time
	loaded [2]stamp   // the files as they were when last loaded
}

// stamp is what tells that a file has changed.
type stamp struct {
	mod, size int64
}

// Load reads the certificate and key; it fails when they do not load or
// do not match. checkEvery zero is DefaultCheckEvery.
func Load(certFile, keyFile string, checkEvery time.Duration, log *slog.Logger) (*Reloader, error) {
	if checkEvery <= 0 {
		checkEvery = DefaultCheckEvery
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, checkEvery: checkEvery, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	r.lastCheck.Store(time.Now().UnixNano())
	return r, nil
}

// Reload reads the files now (SIGHUP). On error the certificate served so
// far stays.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked()
}

func (r *Reloader) reloadLocked() error {
	// Stamped before reading: a file replaced while it is read is seen as
	// changed at the next check, and read again.
	st, err := r.stamps()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&cert)
	r.loaded = st
	if cert.Leaf != nil {
		r.log.Info("TLS certificate loaded", "cert", r.certFile, "subject", cert.Leaf.Subject.String(),
			"not_after", cert.Leaf.NotAfter, "serial", cert.Leaf.SerialNumber.String())
	}
	return nil
}

func (r *Reloader) stamps() ([2]stamp, error) {
	var st [2]stamp
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("TLS: %w", err)
		}
		st[i] = stamp{fi.ModTime().UnixNano(), fi.Size()}
	}
	return st, nil
}

// GetCertificate is tls.Config's: the current certificate, re-read first
// when the files have changed since it was loaded (looked at once per
// checkEvery at most). A change that does not load (a key not yet
// replaced along with its certificate) leaves the old certificate served
// and is tried again at the next check.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	now := time.Now().UnixNano()
	last := r.lastCheck.Load()
	if now-last >= int64(r.checkEvery) && r.lastCheck.CompareAndSwap(last, now) {
		r.checkFiles()
	}
	c := r.cert.Load()
	if c == nil {
		return nil, errors.New("no TLS certificate loaded")
	}
	return c, nil
}

func (r *Reloader) checkFiles() {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stamps()
	if err != nil {
		r.log.Warn("TLS certificate files: keeping the loaded certificate", "err", err)
		return
	}
	if st == r.loaded {
		return
	}
	if err := r.reloadLocked(); err != nil {
		r.log.Warn("TLS certificate files changed but do not load: keeping the loaded certificate", "err", err)
	}
}

// Config is a server tls.Config serving the reloaded certificate, with
// HTTP/2 offered first and TLS 1.2 the oldest version taken.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
