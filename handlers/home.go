package handlers

import (
	"net/http"

	"github.com/beckon-app/beckon/views"
)

// home handles GET /: what the site is for visitors, the invite panel for members.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := currentUser(r); !ok {
		h.render(w, r, http.StatusOK, views.LandingPage(h.layout(r, "")))
		return
	}
	h.invitePanel(w, r)
}
