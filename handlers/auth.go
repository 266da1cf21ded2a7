package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// login handles GET /login.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if _, ok := currentUser(r); ok {
		redirect(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	h.render(w, r, http.StatusOK, views.LoginPage(h.layout(r, "Sign in"), views.LoginForm{Next: r.URL.Query().Get("next")}))
}

// loginPost handles POST /login. Every failure gets the same message.
// Attempts are limited per client address (every attempt counts) and per
// account (failures count, until a sign-in or a password reset clears them).
func (h *Handler) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.LoginForm{Login: strings.TrimSpace(r.PostForm.Get("login")), Next: r.PostForm.Get("next")}
	password := r.PostForm.Get("password")
	now := time.Now()
	if ok, wait := h.loginByIP.allow(h.clientNet(r), now); !ok {
		h.tooMany(w, r, int(wait.Seconds())+1, "Too many sign-in attempts from your network. Try again in a few minutes.")
		return
	}
	accountKey, err := h.loginAccountKey(r, form.Login)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if spent, wait := h.loginByAccount.spent(accountKey, now); spent {
		h.tooMany(w, r, int(wait.Seconds())+1, "Too many sign-in attempts for this account. Try again in a few minutes, or reset your password.")
		return
	}
	u, err := h.store.Users.Authenticate(r.Context(), form.Login, password)
	if errors.Is(err, models.ErrInvalidCredentials) {
		h.loginByAccount.record(accountKey, now)
		form.Error = models.ErrInvalidCredentials.Message
		h.render(w, r, http.StatusUnprocessableEntity, views.LoginPage(h.layout(r, "Sign in"), form))
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Only someone who knows the password learns that the account is suspended.
	if suspended, err := h.store.Staff.Suspended(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	} else if suspended {
		form.Error = models.SuspendedMessage
		h.render(w, r, http.StatusForbidden, views.LoginPage(h.layout(r, "Sign in"), form))
		return
	}
	h.loginByAccount.reset(accountKey)
	if err := h.signIn(r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	redirect(w, r, safeNext(form.Next))
}

// loginAccountKey is the per-account sign-in limit's key for a typed login:
// the user's id when it names one, so that signing in by email and by
// username share one budget, and otherwise the login's normalised form.
func (h *Handler) loginAccountKey(r *http.Request, login string) (string, error) {
	u, err := h.store.Users.GetByLogin(r.Context(), login)
	if errors.Is(err, models.ErrNoRecord) {
		return "login:" + models.EmailKey(login), nil
	}
	if err != nil {
		return "", err
	}
	return userLoginKey(u.ID), nil
}

// userLoginKey is the per-account sign-in limit's key for a known user.
func userLoginKey(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// signIn starts a session for u with a fresh token (against session
// fixation), stamped with u's session epoch so that it ends when the
// account's credentials next change. u must be as stored now: a caller that
// just changed the credentials passes the user the change returned.
func (h *Handler) signIn(r *http.Request, u models.User) error {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		return fmt.Errorf("renew session: %w", err)
	}
	h.sessions.Put(r.Context(), sessionUserID, u.ID)
	h.sessions.Put(r.Context(), sessionEpoch, u.SessionEpoch)
	return nil
}

// signOut forgets the signed-in user of r's session.
func (h *Handler) signOut(r *http.Request) {
	h.sessions.Remove(r.Context(), sessionUserID)
	h.sessions.Remove(r.Context(), sessionEpoch)
}

// welcome signs u in after an account change (signup, setup, joining, a
// reset), says msg on the next page and sends them home.
func (h *Handler) welcome(w http.ResponseWriter, r *http.Request, u models.User, msg string) {
	if err := h.signIn(r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, msg)
	redirect(w, r, "/")
}

// logoutPost handles POST /logout.
func (h *Handler) logoutPost(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Remove(r.Context(), sessionUserID)
	h.flash(r, "You are signed out.")
	redirect(w, r, "/")
}

// signup handles GET /signup: the form in open mode, the invitation-only page otherwise.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	if _, ok := currentUser(r); ok {
		redirect(w, r, "/")
		return
	}
	if !h.cfg.SignupOpen {
		h.render(w, r, http.StatusOK, views.InviteOnlyPage(h.layout(r, "Join")))
		return
	}
	h.render(w, r, http.StatusOK, views.SignupPage(h.layout(r, "Join"), views.SignupForm{}))
}

// signupPost handles POST /signup.
func (h *Handler) signupPost(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.SignupOpen {
		h.fail(w, r, errInviteOnly, models.Facts{})
		return
	}
	if !h.allowJoin(w, r, false) {
		return
	}
	nu, form, ok := h.decodeSignup(w, r)
	if !ok {
		if form.Errors != nil {
			h.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(h.layout(r, "Join"), form))
		}
		return
	}
	// Open signups follow the invitations' blocked domains.
	if err := h.store.Settings.CheckSignupDomain(r.Context(), nu.Email); signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(h.layout(r, "Join"), form))
		return
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	u, err := h.store.Users.Create(r.Context(), nu)
	if signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.SignupPage(h.layout(r, "Join"), form))
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.welcome(w, r, u, "Welcome! We sent a link to "+u.Email+" to confirm your address.")
}

// decodeSignup reads and checks the account fields. When ok is false either
// the answer was written (a bad body), or form.Errors says what to fix.
func (h *Handler) decodeSignup(w http.ResponseWriter, r *http.Request) (models.NewUser, views.SignupForm, bool) {
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return models.NewUser{}, views.SignupForm{}, false
	}
	nu := models.NewUser{
		Email:    strings.TrimSpace(r.PostForm.Get("email")),
		Username: models.NormalizeUsername(r.PostForm.Get("username")),
		Name:     strings.TrimSpace(r.PostForm.Get("name")),
		Password: r.PostForm.Get("password"),
	}
	form := views.SignupForm{Email: nu.Email, Username: nu.Username, Name: nu.Name}
	var v models.Validator
	models.CheckSignup(&v, nu.Email, nu.Username, nu.Password)
	models.CheckName(&v, "name", nu.Name)
	if !v.Valid() {
		form.Errors = v.Errors
		return nu, form, false
	}
	return nu, form, true
}

// signupConflict puts a uniqueness error from models next to its field and
// reports whether it did.
func signupConflict(err error, form *views.SignupForm) bool {
	field, msg, _, ok := fieldError(err, models.Facts{}, "email", "username")
	if ok {
		form.Errors = views.FieldErrors{field: msg}
	}
	return ok
}

// badForm answers a body that could not be parsed (too large, malformed).
func (h *Handler) badForm(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, errBadForm, models.Facts{})
}

// setup handles GET /setup, which exists only while no user does.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	any, err := h.store.Users.Any(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if any {
		h.notFound(w, r)
		return
	}
	h.render(w, r, http.StatusOK, views.SetupPage(h.layout(r, "Set up"), views.SignupForm{}))
}

// setupPost handles POST /setup: the first account, a verified superuser.
func (h *Handler) setupPost(w http.ResponseWriter, r *http.Request) {
	any, err := h.store.Users.Any(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if any {
		h.notFound(w, r)
		return
	}
	nu, form, ok := h.decodeSignup(w, r)
	if !ok {
		if form.Errors != nil {
			h.render(w, r, http.StatusUnprocessableEntity, views.SetupPage(h.layout(r, "Set up"), form))
		}
		return
	}
	u, err := h.store.Users.CreateFirst(r.Context(), nu)
	if errors.Is(err, models.ErrSetupDone) {
		h.notFound(w, r)
		return
	}
	if signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.SetupPage(h.layout(r, "Set up"), form))
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.welcome(w, r, u, "Your administrator account is ready.")
}
