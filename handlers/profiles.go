package handlers

import (
	"errors"
	"net/http"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// profileShow handles GET /u/{username}.
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
	if p.Invitees, err = h.store.Users.Invitees(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.ProfilePage(h.layout(r, "@"+u.Username), p))
}

// tree handles GET /tree: the whole tree of who invited whom.
func (h *Handler) tree(w http.ResponseWriter, r *http.Request) {
	members, err := h.store.Users.Members(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.TreePage(h.layout(r, "Invitation tree"), buildTree(members), len(members)))
}

// buildTree links members to their inviters. Members come in joining order,
// and an inviter always joined before their invitee, so one pass suffices;
// a member whose inviter is gone becomes a root.
func buildTree(members []models.Member) []*views.TreeNode {
	nodes := make(map[int64]*views.TreeNode, len(members))
	var roots []*views.TreeNode
	for _, m := range members {
		n := &views.TreeNode{ID: m.ID, Username: m.Username, Name: m.Name}
		nodes[m.ID] = n
		if parent, ok := nodes[m.InvitedBy]; ok && m.InvitedBy != 0 {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}
