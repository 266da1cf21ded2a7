package handlers

import (
	"net/http"

	"github.com/beckon-app/beckon/views"
)

// The opt-out link of an invitation email is /optout/{token} with the
// email's own join token: the invitation already holds that token's hash
// (and a resend keeps the old one among the replaced tokens), so the link
// needs no secret of its own, and it keeps working whatever became of the
// invitation.

// optOut handles GET /optout/{token}. It changes nothing: a button, so that
// a mail scanner that fetches links opts nobody out.
func (h *Handler) optOut(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	inv, err := h.store.Invitations.LookupOptOut(r.Context(), token)
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	h.render(w, r, http.StatusOK, views.OptOutPage(h.layout(r, "Stop invitations"), inv, token))
}

// optOutPost handles POST /optout/{token}: the address goes on the
// do-not-invite list and every pending invitation to it is revoked.
func (h *Handler) optOutPost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	inv, revoked, err := h.store.Invitations.OptOut(r.Context(), token)
	if err != nil {
		h.deadInvitation(w, r, inv, err)
		return
	}
	h.render(w, r, http.StatusOK, views.OptOutDonePage(h.layout(r, "No more invitations"), inv.Email, revoked))
}
