package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// Page sizes: a page of invitees or of the tree costs the same however many
// members there are.
const (
	profileInviteesPerPage = 50
	treePerPage            = 50
)

// profileShow handles GET /u/{username}: the member, and whom they brought
// in in keyset pages (?after= or ?before=, an id).
func (h *Handler) profileShow(w http.ResponseWriter, r *http.Request) {
	u, err := h.store.Users.GetByUsername(r.Context(), r.PathValue("username"))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	p := views.Profile{User: u}
	if u.InvitedBy != 0 {
		p.Inviter, err = h.store.Users.Get(r.Context(), u.InvitedBy)
		if err != nil && !errors.Is(err, models.ErrNoRecord) {
			h.serverError(w, r, err)
			return
		}
	}
	if p.Invited, err = h.store.Users.InviteeCount(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	if p.Invitees, err = h.store.Users.Invitees(r.Context(), u.ID, pageCursor(r, profileInviteesPerPage)); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ProfilePage(h.layout(r, "@"+u.Username), p))
}

// tree handles GET /tree: the members who joined on their own, in keyset
// pages (?after=); to htmx, the next page's nodes alone.
func (h *Handler) tree(w http.ResponseWriter, r *http.Request) {
	c := pageCursor(r, treePerPage)
	c.Before = 0 // the tree reads forward only
	t := views.TreeList{}
	var err error
	if t.Page, err = h.store.Users.Roots(r.Context(), c); err != nil {
		h.serverError(w, r, err)
		return
	}
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.TreeItems(t))
		return
	}
	h.render(w, r, http.StatusOK, views.TreePage(h.layout(r, "Invitation tree"), t))
}

// treeInvitees handles GET /tree/{id}: whom one member invited, in keyset pages
// (?after=). To htmx it answers the nodes alone, loaded into the member's
// node on demand; without JavaScript, a page of the tree of its own.
func (h *Handler) treeInvitees(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return
	}
	t := views.TreeList{}
	if t.Parent, err = h.store.Users.Get(r.Context(), id); err != nil {
		h.serverError(w, r, err)
		return
	}
	c := pageCursor(r, treePerPage)
	c.Before = 0
	if t.Page, err = h.store.Users.Invitees(r.Context(), id, c); err != nil {
		h.serverError(w, r, err)
		return
	}
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.TreeItems(t))
		return
	}
	var inviter models.User
	if t.Parent.InvitedBy != 0 {
		inviter, err = h.store.Users.Get(r.Context(), t.Parent.InvitedBy)
		if err != nil && !errors.Is(err, models.ErrNoRecord) {
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, views.TreeInviteesPage(h.layout(r, "Members @"+t.Parent.Username+" invited"), t, inviter))
}

// pageCursor reads a keyset page from ?after= or ?before= (member ids). A
// cursor that is not a positive number reads as none, the first page: it
// only ever came from a link this site made.
func pageCursor(r *http.Request, perPage int) models.Cursor {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	return models.Cursor{After: max(after, 0), Before: max(before, 0), Limit: perPage}
}
