package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// staffSettings handles GET /staff/settings: the site switches.
func (h *Handler) staffSettings(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.Settings.Get(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderSiteSettings(w, r, http.StatusOK, views.SiteSettingsForm{
		JoiningPaused: st.JoiningPaused, BlockedDomains: strings.Join(st.BlockedDomains, "\n"),
	})
}

// renderSiteSettings renders /staff/settings with form, and the pending count.
func (h *Handler) renderSiteSettings(w http.ResponseWriter, r *http.Request, status int, form views.SiteSettingsForm) {
	stats, err := h.store.Staff.Stats(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	form.Pending = stats.Pending
	h.render(w, r, status, views.StaffSettingsPage(h.layout(r, "Site settings"), form))
}

// staffSettingsPost handles POST /staff/settings: one form, checkbox
// joining_paused and textarea blocked_domains (one domain a line; 422 for
// a line that is not one). Each switch that changed gets an audit row.
func (h *Handler) staffSettingsPost(w http.ResponseWriter, r *http.Request) {
	staff, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.SiteSettingsForm{
		JoiningPaused:  r.PostForm.Get("joining_paused") != "",
		BlockedDomains: strings.ReplaceAll(r.PostForm.Get("blocked_domains"), "\r\n", "\n"),
	}
	domains, msg, ok := models.ParseDomains(form.BlockedDomains)
	if !ok {
		form.Errors = views.FieldErrors{"blocked_domains": msg}
		h.renderSiteSettings(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if err := h.store.Settings.Save(r.Context(), staff.ID, models.SiteSettings{JoiningPaused: form.JoiningPaused, BlockedDomains: domains}); err != nil {
		h.serverError(w, r, err)
		return
	}
	done := "Settings saved: joining is open"
	if form.JoiningPaused {
		done = "Settings saved: joining is paused"
	}
	h.flash(r, fmt.Sprintf("%s, %s blocked.", done, views.Plural(len(domains), "domain", "domains")))
	redirect(w, r, "/staff/settings")
}

// staffExpireAllConfirm handles GET /staff/invitations/expire-all: the
// confirmation step of the expire-all form when JavaScript is off.
func (h *Handler) staffExpireAllConfirm(w http.ResponseWriter, r *http.Request) {
	stats, err := h.store.Staff.Stats(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ConfirmPage(h.layout(r, "Confirm"), views.Confirm{TestID: "expire-all-confirm",
		Heading: "Are you sure?", Question: views.ExpireAllQuestion(stats.Pending), Action: "/staff/invitations/expire-all",
		Submit: "Yes, expire them", Cancel: "/staff/settings"}))
}

// staffExpireAllPost handles POST /staff/invitations/expire-all: every
// pending invitation ends as expired and is given back, in one transaction
// and one audit row with the count.
func (h *Handler) staffExpireAllPost(w http.ResponseWriter, r *http.Request) {
	staff, _ := currentUser(r)
	n, err := h.store.Staff.ExpireAll(r.Context(), staff.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	done := fmt.Sprintf("Expired %s; each was given back to its sender.", views.Plural(n, "pending invitation", "pending invitations"))
	if !wantsFragment(r) {
		h.flash(r, done)
		redirect(w, r, "/staff/settings")
		return
	}
	own, err := h.store.Users.Allocation(r.Context(), staff.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ExpireAllDone(done, own))
}
