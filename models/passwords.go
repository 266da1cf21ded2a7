package models

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ArgonParams is the cost of argon2id password hashing.
type ArgonParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon follows OWASP's minimum recommendation for argon2id.
var DefaultArgon = ArgonParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// CheapArgon is for tests that create many users.
var CheapArgon = ArgonParams{Memory: 64, Time: 1, Threads: 1}

// argon runs f, argon2 work, in one of the store's argon slots, waiting
// for one to be free unless ctx ends first. Hashing and checking both go
// through here, so a flood of sign-ins or signups queues instead of running
// dozens of 19 MiB hashes at once.
func (c *core) argon(ctx context.Context, f func()) error {
	select {
	case c.argonSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.argonSlots }()
	if c.argonHook != nil {
		c.argonHook()
	}
	f()
	return nil
}

// hashPassword hashes password with the store's cost. Never call it inside
// a write (the writer contract, rule 3).
func (c *core) hashPassword(ctx context.Context, password string) (string, error) {
	var hash string
	var err error
	if werr := c.argon(ctx, func() { hash, err = argonHash(c.opts.Argon, password) }); werr != nil {
		return "", werr
	}
	return hash, err
}

// checkPassword reports whether password matches hash; the error is only
// ctx's, when it ended while waiting for a slot.
func (c *core) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	err := c.argon(ctx, func() { ok = argonCheck(hash, password) })
	return ok, err
}

// argonHash returns a PHC-format argon2id hash of password.
func argonHash(p ArgonParams, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("models: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// argonCheck reports whether password matches the PHC-format hash.
func argonCheck(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p ArgonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
