package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// settings handles GET /settings.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	profile, err := h.profileForm(r, u)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderSettings(w, r, http.StatusOK, profile, views.PasswordForm{})
}

// profileForm is the profile form as saved.
func (h *Handler) profileForm(r *http.Request, u models.User) (views.ProfileForm, error) {
	notify, err := h.store.Users.NotifyJoins(r.Context(), u.ID)
	return views.ProfileForm{Name: u.Name, NotifyJoins: notify}, err
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, profile views.ProfileForm, password views.PasswordForm) {
	h.render(w, r, status, views.SettingsPage(h.layout(r, "Settings"), profile, password))
}

// settingsPost handles POST /settings: the display name and the checkbox
// notify_joins (unchecked, a browser sends nothing: off).
func (h *Handler) settingsPost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.ProfileForm{Name: strings.TrimSpace(r.PostForm.Get("name")), NotifyJoins: r.PostForm.Get("notify_joins") != ""}
	var v models.Validator
	models.CheckName(&v, "name", form.Name)
	if !v.Valid() {
		form.Errors = v.Errors
		h.renderSettings(w, r, http.StatusUnprocessableEntity, form, views.PasswordForm{})
		return
	}
	if err := h.store.Users.SetProfile(r.Context(), u.ID, form.Name, form.NotifyJoins); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "Your settings are saved.")
	redirect(w, r, "/settings")
}

// settingsPasswordPost handles POST /settings/password.
func (h *Handler) settingsPasswordPost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	var v models.Validator
	ok, err := h.store.Users.CheckPassword(r.Context(), u.ID, current)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	v.Check(ok, "current_password", "That is not your current password.")
	models.CheckPassword(&v, "new_password", next, u.Email, u.Username)
	if !v.Valid() {
		profile, err := h.profileForm(r, u)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		h.renderSettings(w, r, http.StatusUnprocessableEntity, profile, views.PasswordForm{Errors: v.Errors})
		return
	}
	u, err = h.store.Users.SetPassword(r.Context(), u.ID, next)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// The change ended every session of the account; this one signs in
	// again, under the new epoch and with a fresh token.
	if err := h.signIn(r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "Your password is changed, and you are signed out everywhere else.")
	redirect(w, r, "/settings")
}

// settingsConfirmEmailPost handles POST /settings/confirm-email: another
// confirmation email for an unverified member.
func (h *Handler) settingsConfirmEmailPost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if u.Verified() {
		redirect(w, r, "/")
		return
	}
	if ok, wait := h.mailByAddress.allow("confirm:"+models.EmailKey(u.Email), time.Now()); !ok {
		h.tooMany(w, r, int(wait.Seconds())+1, "We already sent several confirmation emails. Try again later.")
		return
	}
	if err := h.store.Users.ResendConfirmation(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.flash(r, "We sent a new confirmation link to "+u.Email+".")
	redirect(w, r, "/")
}
