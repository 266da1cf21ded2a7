package handlers

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionEpoch is the session key holding the user's session epoch at sign
// in; loadUser signs a session out once the account's epoch has moved on.
const sessionEpoch = "epoch"

// NewSessionManager configures the session cookie: HttpOnly, SameSite=Lax,
// Secure when the site is served over https, two weeks of life from sign in
// (no idle timeout: scs would rewrite the session on every request to keep
// one); the data is kept in sessionCodec's compact form.
func NewSessionManager(store scs.Store, secure bool) *scs.SessionManager {
	s := scs.New()
	s.Store = store
	s.Codec = sessionCodec{}
	s.Lifetime = 14 * 24 * time.Hour
	s.Cookie.Name = "beckon_session"
	s.Cookie.HttpOnly = true
	s.Cookie.SameSite = http.SameSiteLaxMode
	s.Cookie.Secure = secure
	s.Cookie.Persist = true
	return s
}
