package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// deadTokenPage answers a confirmation or reset link that cannot be used.
func (h *Handler) deadTokenPage(w http.ResponseWriter, r *http.Request, err error, what string) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.fail(w, r, err, models.Facts{What: what})
}

// tokenPageHeaders keeps a token page out of caches and Referer headers.
func tokenPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
}

// confirmEmail handles GET /confirm-email/{token}: a button, nothing changed.
func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	email, err := h.store.Users.CheckConfirmToken(r.Context(), token)
	if err != nil {
		if isTokenError(err) {
			h.deadTokenPage(w, r, err, "confirmation")
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ConfirmEmailPage(h.layout(r, "Confirm your email"), token, email))
}

// confirmEmailPost handles POST /confirm-email/{token}.
func (h *Handler) confirmEmailPost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	u, err := h.store.Users.ConfirmEmail(r.Context(), r.PathValue("token"))
	if isTokenError(err) {
		h.deadTokenPage(w, r, err, "confirmation")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Proving the address for the first time ended every session of the
	// account; the one that followed the link, when it is this account's,
	// signs in again under the new epoch.
	if cur, ok := currentUser(r); ok && cur.ID == u.ID {
		if err := h.signIn(r, u); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.flash(r, "Thank you: "+u.Email+" is confirmed.")
	redirect(w, r, "/")
}

func isTokenError(err error) bool {
	return errors.Is(err, models.ErrTokenUnknown) || errors.Is(err, models.ErrTokenExpired) || errors.Is(err, models.ErrTokenUsed)
}

// passwordForgot handles GET /password/forgot.
func (h *Handler) passwordForgot(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, views.ForgotPasswordPage(h.layout(r, "Reset your password"), views.EmailForm{}, false))
}

// passwordForgotPost handles POST /password/forgot. It answers the same
// whether or not an account uses the address, so it tells nobody who is a
// member.
func (h *Handler) passwordForgotPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	now := time.Now()
	if ok, wait := h.forgotByIP.allow(h.clientNet(r), now); !ok {
		h.tooMany(w, r, int(wait.Seconds())+1, "Too many password reset requests from your network. Try again in a few minutes.")
		return
	}
	form := views.EmailForm{Email: strings.TrimSpace(r.PostForm.Get("email"))}
	var v models.Validator
	models.CheckEmail(&v, "email", form.Email)
	if !v.Valid() {
		form.Errors = v.Errors
		h.render(w, r, http.StatusUnprocessableEntity, views.ForgotPasswordPage(h.layout(r, "Reset your password"), form, false))
		return
	}
	if ok, wait := h.mailByAddress.allow("reset:"+models.EmailKey(form.Email), now); !ok {
		h.tooMany(w, r, int(wait.Seconds())+1, "We already sent several reset emails to this address. Try again later.")
		return
	}
	if err := h.store.Users.RequestPasswordReset(r.Context(), form.Email); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ForgotPasswordPage(h.layout(r, "Reset your password"), form, true))
}

// passwordReset handles GET /password/reset/{token}.
func (h *Handler) passwordReset(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	if _, err := h.store.Users.CheckResetToken(r.Context(), token); err != nil {
		if isTokenError(err) {
			h.deadTokenPage(w, r, err, "password reset")
			return
		}
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ResetPasswordPage(h.layout(r, "Choose a new password"), views.PasswordForm{Token: token}))
}

// passwordResetPost handles POST /password/reset/{token}: the new password,
// then signed in.
func (h *Handler) passwordResetPost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	u, err := h.store.Users.CheckResetToken(r.Context(), token)
	if err != nil {
		if isTokenError(err) {
			h.deadTokenPage(w, r, err, "password reset")
			return
		}
		h.serverError(w, r, err)
		return
	}
	password := r.PostForm.Get("password")
	var v models.Validator
	models.CheckPassword(&v, "password", password, u.Email, u.Username)
	if !v.Valid() {
		form := views.PasswordForm{Token: token, Errors: v.Errors}
		h.render(w, r, http.StatusUnprocessableEntity, views.ResetPasswordPage(h.layout(r, "Choose a new password"), form))
		return
	}
	u, err = h.store.Users.ResetPassword(r.Context(), token, password)
	if isTokenError(err) {
		h.deadTokenPage(w, r, err, "password reset")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// Proving the address ends a lockout of failed sign-ins: the owner
	// can sign in again, whoever spent the budget.
	h.loginByAccount.reset(userLoginKey(u.ID))
	h.welcome(w, r, u, "Your password is changed and you are signed in.")
}
