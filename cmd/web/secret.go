package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// minSecretLength is the shortest BECKON_SECRET accepted.
const minSecretLength = 32

// keyFileName is the file beside a SQLite database that holds the site
// secret when BECKON_SECRET is empty.
const keyFileName = "beckon.key"

// isPostgresURL reports whether db names a PostgreSQL database rather than a
// SQLite file.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// linkSecret is the secret that keys shareable links: BECKON_SECRET, or the
// key file beside the SQLite database, made (0600) the first time. It is
// kept outside the database so that a copy of the database alone opens no
// link. The file holds 32 random bytes written as base64url text, which is
// itself a valid BECKON_SECRET: a site that moves to PostgreSQL sets
// BECKON_SECRET to the file's content and its links keep working.
func linkSecret(cfg config) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	if isPostgresURL(cfg.DB) {
		return nil, usageError{errors.New("BECKON_SECRET: required when BECKON_DB is a PostgreSQL URL (there is no folder for a key file): set at least 32 random characters, the same for every process, for example from openssl rand -base64 32")}
	}
	path := filepath.Join(filepath.Dir(cfg.DB), keyFileName)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	return readKey(path, key)
}

// keyTextLength is the length of 32 bytes in base64url without padding.
const keyTextLength = 43

// readKey checks a key file's content and returns the secret it holds.
func readKey(path string, content []byte) ([]byte, error) {
	text := bytes.TrimSpace(content)
	if _, err := base64.RawURLEncoding.DecodeString(string(text)); err == nil && len(text) == keyTextLength {
		return text, nil
	}
	return nil, fmt.Errorf("key file %s is damaged: restore it from a backup, or delete it to make a new one (every shareable link then stops working)", path)
}

// createKeyFile writes 32 random bytes to path, which must not exist: two
// processes starting at once both end up with the one that won.
func createKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create folder for the key file: %w", err)
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails: crypto/rand panics rather than return an error
	key := []byte(base64.RawURLEncoding.EncodeToString(raw))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		theirs, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("key file %s: made by another process but not readable", path)
		}
		return readKey(path, theirs)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(append(key, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return key, nil
}
