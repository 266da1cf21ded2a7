package handlers

import (
	"errors"
	"net/http"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// joinShow handles GET /join/{token}. It changes nothing: who invites, the
// note and the signup form, or the reason the link is dead.
func (h *Handler) joinShow(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	inv, err := h.store.Invitations.LookupToken(r.Context(), token)
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	l := h.layout(r, "You are invited")
	if l.SignedIn() {
		h.render(w, r, http.StatusOK, views.JoinSignedInPage(l, inv))
		return
	}
	h.render(w, r, http.StatusOK, views.JoinPage(l, inv, token, views.SignupForm{Email: inv.Email}))
}

// joinPost handles POST /join/{token}: the checks of a normal signup, then
// the account and the accepted invitation in one transaction, and the new
// member signed in.
func (h *Handler) joinPost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	inv, err := h.store.Invitations.LookupToken(r.Context(), token)
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	if _, ok := currentUser(r); ok {
		h.render(w, r, http.StatusOK, views.JoinSignedInPage(h.layout(r, "You are invited"), inv))
		return
	}
	nu, form, ok := h.decodeSignup(w, r)
	if !ok {
		if form.Errors != nil {
			h.render(w, r, http.StatusUnprocessableEntity, views.JoinPage(h.layout(r, "You are invited"), inv, token, form))
		}
		return
	}
	u, inv, err := h.store.Invitations.Join(r.Context(), token, nu)
	if signupConflict(err, &form) {
		h.render(w, r, http.StatusUnprocessableEntity, views.JoinPage(h.layout(r, "You are invited"), inv, token, form))
		return
	}
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	msg := "Welcome to " + h.cfg.SiteName + ", " + u.DisplayName() + "!"
	if !u.Verified() {
		msg += " We sent a link to " + u.Email + " to confirm your new address."
	}
	h.welcome(w, r, u, msg)
}

// deadInvitation answers a link that cannot be used: 404 for an unknown
// token, 410 with its own sentence for the others.
func (h *Handler) deadInvitation(w http.ResponseWriter, r *http.Request, inv models.Invitation, err error) {
	switch {
	case errors.Is(err, models.ErrTokenUnknown):
		h.errorPage(w, r, http.StatusNotFound, "Unknown invitation", "This invitation link is not valid. Check that you copied all of it.")
	case errors.Is(err, models.ErrInvitationExpired):
		h.errorPage(w, r, http.StatusGone, "Invitation expired",
			"This invitation expired on "+views.Date(inv.ExpiresAt)+". Ask "+inv.InviterDisplay()+" for a new one.")
	case errors.Is(err, models.ErrInvitationRevoked):
		h.errorPage(w, r, http.StatusGone, "Invitation withdrawn",
			inv.InviterDisplay()+" withdrew this invitation. Ask them if you think this is a mistake.")
	case errors.Is(err, models.ErrInvitationReplaced):
		h.errorPage(w, r, http.StatusGone, "Link replaced",
			"A newer email from "+inv.InviterDisplay()+" replaced this link. Use the link in the most recent invitation email.")
	case errors.Is(err, models.ErrInvitationUsed):
		h.errorPage(w, r, http.StatusGone, "Invitation already used",
			"This invitation has already been used to join. If it was you, sign in.")
	default:
		h.serverError(w, r, err)
	}
}
