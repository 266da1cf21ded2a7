package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The key file is made once, 0600, beside the database, and reused.
func TestKeyFileIsCreatedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config{DB: filepath.Join(dir, "beckon.db")}
	first, err := linkSecret(cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "beckon.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || len(first) != 43 {
		t.Errorf("key file %v, a secret of %d characters; want 0600 and 43", info.Mode().Perm(), len(first))
	}
	// The file's content is a valid BECKON_SECRET that keys links the same,
	// so a site moving to PostgreSQL keeps its links.
	content, _ := os.ReadFile(filepath.Join(dir, "beckon.key"))
	c, _, err := parseConfig("serve", nil, env("BECKON_SECRET", strings.TrimSpace(string(content))), io.Discard)
	if err != nil {
		t.Fatalf("the key file's content as BECKON_SECRET: %v", err)
	}
	if asEnv, err := linkSecret(config{DB: "postgres://beckon@localhost/beckon", Secret: c.Secret}); err != nil || !bytes.Equal(asEnv, first) {
		t.Errorf("the key file's content as BECKON_SECRET gives another secret (%v)", err)
	}
	again, err := linkSecret(cfg)
	if err != nil || !bytes.Equal(first, again) {
		t.Errorf("second start read another key (%v)", err)
	}
	other, _ := linkSecret(config{DB: filepath.Join(t.TempDir(), "beckon.db")})
	if bytes.Equal(first, other) {
		t.Error("two sites made the same key")
	}
	set, err := linkSecret(config{DB: cfg.DB, Secret: strings.Repeat("s", 32)})
	if err != nil || string(set) != strings.Repeat("s", 32) {
		t.Errorf("BECKON_SECRET not used: %q %v", set, err)
	}
	os.WriteFile(filepath.Join(dir, "beckon.key"), []byte("short"), 0o600)
	if _, err := linkSecret(cfg); err == nil {
		t.Error("a damaged key file was accepted")
	}
}

func TestLinksAndSecretSettings(t *testing.T) {
	c, _, err := parseConfig("serve", nil, env(), io.Discard)
	if err != nil || c.Links != "members" || c.Secret != "" {
		t.Fatalf("defaults: %q %q %v", c.Links, c.Secret, err)
	}
	c, _, err = parseConfig("serve", []string{"-links", "staff", "-secret", strings.Repeat("k", 40)}, env(), io.Discard)
	if err != nil || c.Links != "staff" || c.Secret != strings.Repeat("k", 40) {
		t.Errorf("flags: %q %q %v", c.Links, c.Secret, err)
	}
	for _, bad := range [][]string{
		{"BECKON_LINKS", "everyone"},
		{"BECKON_SECRET", "too short"},
	} {
		_, _, err := parseConfig("serve", nil, env(bad...), io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), bad[0]) && !strings.Contains(err.Error(), "BECKON_SECRET") {
			t.Errorf("%v: %v; want a usage error", bad, err)
		}
		if strings.Contains(fmtErr(err), "too short") {
			t.Errorf("the error echoes the secret: %v", err)
		}
	}
}

// With PostgreSQL there is no folder for a key file: the secret is required.
func TestSecretRequiredWithPostgres(t *testing.T) {
	_, err := linkSecret(config{DB: "postgres://beckon@localhost/beckon"})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "BECKON_SECRET") {
		t.Errorf("%v; want a usage error naming BECKON_SECRET", err)
	}
	if key, err := linkSecret(config{DB: "postgres://beckon@localhost/beckon", Secret: strings.Repeat("p", 32)}); err != nil || len(key) != 32 {
		t.Errorf("with a secret: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
