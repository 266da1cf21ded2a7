package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/alexedwards/scs/v2"
)

// HashedSessionStore wraps a session store so that it keeps each session
// under the SHA-256 (hex) of its token instead of the token: the cookie is
// then the only place a live token exists, and a leaked database or backup
// holds no session anyone can use, as with every other token Beckon stores.
//
// Only scs.Store is passed on. sqlite3store also offers All (scs's
// IterableStore), which Beckon does not use and which could only list hashes
// here; it is left out so that nothing can iterate sessions expecting tokens.
func HashedSessionStore(s scs.Store) scs.Store { return hashedStore{s} }

type hashedStore struct{ store scs.Store }

// sessionKey is what the store keeps in place of token.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s hashedStore) Find(token string) ([]byte, bool, error) {
	return s.store.Find(sessionKey(token))
}

func (s hashedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.store.Commit(sessionKey(token), b, expiry)
}

func (s hashedStore) Delete(token string) error {
	return s.store.Delete(sessionKey(token))
}
