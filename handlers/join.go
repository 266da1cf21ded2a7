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
	if errors.Is(err, models.ErrTokenUnknown) {
		// No invitation's: perhaps a shareable link's (SPEC 12).
		h.linkJoinShow(w, r, token)
		return
	}
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	if h.joiningPaused(w, r, inv) {
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
	if !h.allowJoin(w, r, false) {
		return
	}
	token := r.PathValue("token")
	inv, err := h.store.Invitations.LookupToken(r.Context(), token)
	if errors.Is(err, models.ErrTokenUnknown) {
		h.linkJoinPost(w, r, token)
		return
	}
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	if h.joiningPaused(w, r, inv) {
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
	// A changed address must not be one that no invitation could reach.
	if models.EmailKey(nu.Email) != models.EmailKey(inv.Email) {
		if err := h.store.Settings.CheckSignupDomain(r.Context(), nu.Email); signupConflict(err, &form) {
			h.render(w, r, http.StatusUnprocessableEntity, views.JoinPage(h.layout(r, "You are invited"), inv, token, form))
			return
		} else if err != nil {
			h.serverError(w, r, err)
			return
		}
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
// token, 410 with its own sentence for the others (the vocabulary's).
func (h *Handler) deadInvitation(w http.ResponseWriter, r *http.Request, inv models.Invitation, err error) {
	h.fail(w, r, err, invitationFacts(inv))
}

// invitationFacts is what the messages about an invitation's link may name.
func invitationFacts(inv models.Invitation) models.Facts {
	return models.Facts{What: "invitation", Inviter: inv.InviterDisplay(), Date: inv.ExpiresAt, Email: inv.Email}
}

// joiningPaused answers a join link while staff have paused joining (403,
// the link left pending) and reports whether it did.
func (h *Handler) joiningPaused(w http.ResponseWriter, r *http.Request, inv models.Invitation) bool {
	err := h.store.Settings.CheckJoiningOpen(r.Context())
	if err != nil {
		h.deadInvitation(w, r, inv, err)
	}
	return err != nil
}

// joinDeclinePost handles POST /join/{token}/decline: the invitee's "No
// thanks". The invitation ends as declined and is given back; the link then
// answers that it was declined. Declining works while joining is paused: it
// joins nobody.
func (h *Handler) joinDeclinePost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	if _, ok := currentUser(r); ok {
		inv, err := h.store.Invitations.LookupToken(r.Context(), token)
		if err != nil {
			h.deadInvitation(w, r, inv, err)
			return
		}
		h.render(w, r, http.StatusOK, views.JoinSignedInPage(h.layout(r, "You are invited"), inv))
		return
	}
	inv, err := h.store.Invitations.Decline(r.Context(), token)
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	h.render(w, r, http.StatusOK, views.DeclinedPage(h.layout(r, "Invitation declined"), inv, token))
}
