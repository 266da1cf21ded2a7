package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// The staff user page and moderation (SPEC section 11): suspension, inviting
// off, and subtree actions with a preview. Every form posts and redirects
// back with a flash; a refused reason shows the page again with 422.

const (
	staffInviteesPerPage = 25
	staffHistoryEntries  = 30
)

// staffUserShow handles GET /staff/users/{id}.
func (h *Handler) staffUserShow(w http.ResponseWriter, r *http.Request) {
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	h.renderStaffUser(w, r, http.StatusOK, u, max(after, 0), views.ModerationForm{})
}

// renderStaffUser renders a member's staff page, with form in place of the
// blank form of its kind when it was refused.
func (h *Handler) renderStaffUser(w http.ResponseWriter, r *http.Request, status int, u models.User, after int64, form views.ModerationForm) {
	staff, _ := currentUser(r)
	ctx := r.Context()
	p := views.StaffUser{User: u, Self: staff.ID == u.ID, InviteesFrom: after, Form: form,
		Stat: views.UserStat{User: u, Next: views.StaffUserURL(u.ID), Key: rand.Text()}}
	var err error
	if p.Standing, err = h.store.Staff.Standing(ctx, u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	if u.InvitedBy != 0 {
		if p.Inviter, err = h.store.Users.Get(ctx, u.InvitedBy); err != nil && !errors.Is(err, models.ErrNoRecord) {
			h.serverError(w, r, err)
			return
		}
	}
	if p.Invitees, p.InviteesNext, err = h.store.Staff.Invitees(ctx, u.ID, after, staffInviteesPerPage); err != nil {
		h.serverError(w, r, err)
		return
	}
	if p.Subtree, err = h.store.Staff.Subtree(ctx, u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	if p.History, err = h.store.Staff.History(ctx, u.ID, staffHistoryEntries); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, views.StaffUserPage(h.layout(r, "@"+u.Username), p))
}

// decodeReason reads and checks the form's reason field.
func decodeReason(r *http.Request, action string, required bool) (views.ModerationForm, bool) {
	f := views.ModerationForm{Action: action, Reason: models.TrimReason(r.PostForm.Get("reason"))}
	var v models.Validator
	models.CheckReason(&v, "reason", f.Reason, required)
	f.Errors = v.Errors
	return f, v.Valid()
}

// staffUserSuspendPost handles POST /staff/users/{id}/suspend.
func (h *Handler) staffUserSuspendPost(w http.ResponseWriter, r *http.Request) {
	h.staffModerationPost(w, r, views.ModSuspend)
}

// staffUserUnsuspendPost handles POST /staff/users/{id}/unsuspend.
func (h *Handler) staffUserUnsuspendPost(w http.ResponseWriter, r *http.Request) {
	h.staffModerationPost(w, r, views.ModUnsuspend)
}

// staffUserInvitingPost handles POST /staff/users/{id}/inviting: field
// inviting = off (with a reason) or on.
func (h *Handler) staffUserInvitingPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	switch r.PostForm.Get("inviting") {
	case "off":
		h.staffModerationPost(w, r, views.ModInvitingOff)
	case "on":
		h.staffModerationPost(w, r, views.ModInvitingOn)
	default:
		h.errorPage(w, r, http.StatusUnprocessableEntity, "Not changed", "Choose whether inviting is on or off.")
	}
}

// staffModerationPost runs one moderation form on one member.
func (h *Handler) staffModerationPost(w http.ResponseWriter, r *http.Request, action string) {
	staff, _ := currentUser(r)
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	required := action == views.ModSuspend || action == views.ModInvitingOff
	form, valid := decodeReason(r, action, required)
	if !valid {
		h.renderStaffUser(w, r, http.StatusUnprocessableEntity, u, 0, form)
		return
	}
	ctx := r.Context()
	var res models.ModerationResult
	var err error
	var done string
	switch action {
	case views.ModSuspend:
		res, err = h.store.Staff.Suspend(ctx, staff.ID, u.ID, form.Reason)
		done = fmt.Sprintf("Suspended: signed out everywhere, %s and %s revoked.",
			views.Plural(res.InvitationsRevoked, "pending invitation", "pending invitations"), views.Plural(res.TokensRevoked, "API token", "API tokens"))
		if res.UsersChanged == 0 {
			done = "Nothing changed: already suspended."
		}
	case views.ModUnsuspend:
		res, err = h.store.Staff.Unsuspend(ctx, staff.ID, u.ID, form.Reason)
		done = "Unsuspended: they can sign in again."
		if res.UsersChanged == 0 {
			done = "Nothing changed: not suspended."
		}
	case views.ModInvitingOff:
		res, err = h.store.Staff.SetInviting(ctx, staff.ID, u.ID, false, form.Reason)
		done = "Inviting turned off."
		if res.UsersChanged == 0 {
			done = "Nothing changed: inviting was off for that reason already."
		}
	default:
		res, err = h.store.Staff.SetInviting(ctx, staff.ID, u.ID, true, form.Reason)
		done = "Inviting turned on."
		if res.UsersChanged == 0 {
			done = "Nothing changed: inviting was on."
		}
	}
	if errors.Is(err, models.ErrSelfModeration) {
		// The page offers no such form: only a crafted request gets here.
		h.errorPage(w, r, http.StatusUnprocessableEntity, "Not done", "You cannot do this to your own account.")
		return
	}
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	h.flash(r, "@"+u.Username+": "+done)
	redirect(w, r, views.StaffUserURL(u.ID))
}

// subtreeAction reads a subtree action; ok is false (and 404 written) for
// anything but revoke or suspend.
func (h *Handler) subtreeAction(w http.ResponseWriter, r *http.Request, action string) (string, bool) {
	if action != models.SubtreeRevoke && action != models.SubtreeSuspend {
		h.notFound(w, r)
		return "", false
	}
	return action, true
}

// staffUserSubtree handles GET /staff/users/{id}/subtree?action=revoke|suspend:
// what the action would change, and the form that does it.
func (h *Handler) staffUserSubtree(w http.ResponseWriter, r *http.Request) {
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	action, ok := h.subtreeAction(w, r, r.URL.Query().Get("action"))
	if !ok {
		return
	}
	h.renderSubtreePreview(w, r, http.StatusOK, u, action, "", nil)
}

func (h *Handler) renderSubtreePreview(w http.ResponseWriter, r *http.Request, status int, u models.User, action, reason string, errs views.FieldErrors) {
	staff, _ := currentUser(r)
	p := views.SubtreePreview{User: u, Reason: reason, Errors: errs}
	var err error
	if p.Preview, err = h.store.Staff.PreviewSubtree(r.Context(), staff.ID, u.ID, action); err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	if p.Subtree, err = h.store.Staff.Subtree(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, views.SubtreePreviewPage(h.layout(r, "Confirm"), p))
}

// staffUserSubtreeRevokePost handles POST /staff/users/{id}/subtree/revoke.
func (h *Handler) staffUserSubtreeRevokePost(w http.ResponseWriter, r *http.Request) {
	h.staffSubtreePost(w, r, models.SubtreeRevoke)
}

// staffUserSubtreeSuspendPost handles POST /staff/users/{id}/subtree/suspend.
func (h *Handler) staffUserSubtreeSuspendPost(w http.ResponseWriter, r *http.Request) {
	h.staffSubtreePost(w, r, models.SubtreeSuspend)
}

// staffSubtreePost runs a subtree action in one transaction and says what
// it changed.
func (h *Handler) staffSubtreePost(w http.ResponseWriter, r *http.Request, action string) {
	staff, _ := currentUser(r)
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form, valid := decodeReason(r, action, action == models.SubtreeSuspend)
	if !valid {
		h.renderSubtreePreview(w, r, http.StatusUnprocessableEntity, u, action, form.Reason, form.Errors)
		return
	}
	var res models.ModerationResult
	var err error
	var done string
	if action == models.SubtreeSuspend {
		res, err = h.store.Staff.SuspendSubtree(r.Context(), staff.ID, u.ID, form.Reason)
		done = fmt.Sprintf("Suspended %s and revoked %s.", views.Plural(res.UsersChanged, "member", "members"),
			views.Plural(res.InvitationsRevoked, "pending invitation", "pending invitations"))
	} else {
		res, err = h.store.Staff.RevokeSubtree(r.Context(), staff.ID, u.ID, form.Reason)
		done = fmt.Sprintf("Revoked %s from %s.", views.Plural(res.InvitationsRevoked, "pending invitation", "pending invitations"),
			views.Plural(res.UsersChanged, "inviter", "inviters"))
	}
	if errors.Is(err, models.ErrSelfModeration) {
		h.renderSubtreePreview(w, r, http.StatusUnprocessableEntity, u, action, form.Reason,
			views.FieldErrors{"reason": "You cannot suspend your own account."})
		return
	}
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	h.flash(r, "@"+u.Username+" and their subtree: "+done)
	redirect(w, r, views.StaffUserURL(u.ID))
}
