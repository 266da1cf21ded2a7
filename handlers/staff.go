package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

const (
	staffUsersPerPage       = 50
	staffInvitationsPerPage = 50
	auditPerPage            = 50
)

// staffDashboard handles GET /staff.
func (h *Handler) staffDashboard(w http.ResponseWriter, r *http.Request) {
	h.renderDashboard(w, r, http.StatusOK, views.BulkForm{})
}

// renderDashboard renders /staff with one of its forms (by Kind) replaced.
func (h *Handler) renderDashboard(w http.ResponseWriter, r *http.Request, status int, form views.BulkForm) {
	stats, err := h.store.Staff.Stats(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := views.StaffDashboard{Stats: stats}
	for _, kind := range []string{views.BulkTopOff, views.BulkAddTo, views.BulkUnlimited} {
		f := views.BulkForm{Kind: kind}
		if form.Kind == kind {
			f = form
		}
		if f.Key == "" {
			f.Key = rand.Text()
		}
		d.Forms = append(d.Forms, f)
	}
	h.render(w, r, status, views.StaffDashboardPage(h.layout(r, "Staff"), d))
}

// bulkInput is a decoded bulk form.
type bulkInput struct {
	form   views.BulkForm
	amount int
	on     bool // for unlimited
}

// decodeBulk reads a bulk form of kind from values and checks it.
func decodeBulk(kind string, values url.Values) (bulkInput, bool) {
	in := bulkInput{form: views.BulkForm{Kind: kind, Amount: values.Get("amount"), Unlimited: values.Get("unlimited"),
		Key: values.Get(views.IdempotencyField)}}
	var v models.Validator
	min := 1
	switch kind {
	case views.BulkTopOff:
		min = 0
	case views.BulkUnlimited:
		v.Check(in.form.Unlimited == "on" || in.form.Unlimited == "off", "unlimited", "Choose on or off.")
		in.on, min = in.form.Unlimited == "on", 0
	}
	if !in.on {
		n, ok := models.ParseAmount(in.form.Amount, min)
		v.Check(ok, "amount", models.AmountMessage(min))
		in.amount = n
	}
	in.form.Errors = v.Errors
	return in, v.Valid()
}

// staffBulkConfirm handles GET /staff/confirm: the confirmation step of a
// bulk form when JavaScript is off.
func (h *Handler) staffBulkConfirm(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	if kind != views.BulkTopOff && kind != views.BulkAddTo && kind != views.BulkUnlimited {
		h.notFound(w, r)
		return
	}
	in, ok := decodeBulk(kind, r.URL.Query())
	if !ok {
		h.renderDashboard(w, r, http.StatusUnprocessableEntity, in.form)
		return
	}
	hidden := [][2]string{{"amount", in.form.Amount}, {views.IdempotencyField, in.form.Key}}
	if kind == views.BulkUnlimited {
		hidden = append(hidden, [2]string{"unlimited", in.form.Unlimited})
	}
	h.render(w, r, http.StatusOK, views.ConfirmPage(h.layout(r, "Confirm"), views.Confirm{TestID: "bulk-confirm",
		Heading: "Are you sure?", Question: views.BulkQuestionFor(in.form, in.amount), Action: views.BulkPath(kind),
		Hidden: hidden, Submit: "Yes, apply it", Cancel: "/staff"}))
}

// staffTopOffPost handles POST /staff/topoff.
func (h *Handler) staffTopOffPost(w http.ResponseWriter, r *http.Request) {
	h.staffBulkPost(w, r, views.BulkTopOff)
}

// staffAddToPost handles POST /staff/addto.
func (h *Handler) staffAddToPost(w http.ResponseWriter, r *http.Request) {
	h.staffBulkPost(w, r, views.BulkAddTo)
}

// staffUnlimitedPost handles POST /staff/unlimited.
func (h *Handler) staffUnlimitedPost(w http.ResponseWriter, r *http.Request) {
	h.staffBulkPost(w, r, views.BulkUnlimited)
}

// staffBulkPost runs a bulk operation and answers with how many users it
// changed: the form with the count for htmx, a flash and a redirect otherwise.
func (h *Handler) staffBulkPost(w http.ResponseWriter, r *http.Request, kind string) {
	staff, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	in, ok := decodeBulk(kind, r.PostForm)
	if !ok {
		if wantsFragment(r) {
			h.render(w, r, http.StatusUnprocessableEntity, views.BulkFormBlock(in.form))
			return
		}
		h.renderDashboard(w, r, http.StatusUnprocessableEntity, in.form)
		return
	}
	// The form's key makes a second send of it (a double click, the back
	// button) answer as the first did instead of changing everyone again.
	ops := h.store.Staff.Keyed(in.form.Key)
	var n int
	var err error
	var done string
	switch kind {
	case views.BulkTopOff:
		n, err = ops.TopOffAll(r.Context(), staff.ID, in.amount)
		done = fmt.Sprintf("Topped off %s to %s left.", views.Plural(n, "user", "users"), views.Plural(in.amount, "invitation", "invitations"))
	case views.BulkAddTo:
		n, err = ops.AddToAll(r.Context(), staff.ID, in.amount, false)
		done = fmt.Sprintf("Added %s to %s.", views.Plural(in.amount, "invitation", "invitations"), views.Plural(n, "user", "users"))
	default:
		n, err = ops.SetUnlimitedAll(r.Context(), staff.ID, in.on, in.amount)
		done = fmt.Sprintf("Gave %s unlimited invitations.", views.Plural(n, "user", "users"))
		if !in.on {
			done = fmt.Sprintf("Gave %s a plain allocation of %d.", views.Plural(n, "user", "users"), in.amount)
		}
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !wantsFragment(r) {
		h.flash(r, done)
		redirect(w, r, "/staff")
		return
	}
	own, err := h.store.Users.Allocation(r.Context(), staff.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.say(w, r, views.BulkDone(views.BulkForm{Kind: kind, Result: done, Unlimited: in.form.Unlimited, Key: rand.Text()}, own), done)
}

// staffUsers handles GET /staff/users: search (?q=) and keyset pages (?after=).
func (h *Handler) staffUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := views.StaffUsers{Query: strings.TrimSpace(q.Get("q")), After: q.Get("after"), FormKey: rand.Text()}
	var err error
	p.Users, p.Next, err = h.store.Staff.ListUsers(r.Context(), models.UserFilter{Query: p.Query, After: p.After, PerPage: staffUsersPerPage})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.StaffUserList(p, r.URL.RequestURI()))
		return
	}
	h.render(w, r, http.StatusOK, views.StaffUsersPage(h.layout(r, "Users"), p, r.URL.RequestURI()))
}

// staffUserID reads {id} of a user; ok is false (and 404 written) when it
// is not a number or no such user exists.
func (h *Handler) staffUser(w http.ResponseWriter, r *http.Request) (models.User, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return models.User{}, false
	}
	u, err := h.store.Users.Get(r.Context(), id)
	if err != nil {
		h.serverError(w, r, err)
		return models.User{}, false
	}
	return u, true
}

// staffUserStat handles GET /staff/users/{id}/stat: that user's allocation
// block (the seed's invite_stat), for a refresh in place.
func (h *Handler) staffUserStat(w http.ResponseWriter, r *http.Request) {
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, views.UserStatBlock(views.UserStat{User: u, Next: "/staff/users", Key: rand.Text()}))
}

// staffUserTopOffPost handles POST /staff/users/{id}/topoff.
func (h *Handler) staffUserTopOffPost(w http.ResponseWriter, r *http.Request) {
	h.staffUserPost(w, r, views.BulkTopOff)
}

// staffUserAddToPost handles POST /staff/users/{id}/addto.
func (h *Handler) staffUserAddToPost(w http.ResponseWriter, r *http.Request) {
	h.staffUserPost(w, r, views.BulkAddTo)
}

// staffUserUnlimitedPost handles POST /staff/users/{id}/unlimited.
func (h *Handler) staffUserUnlimitedPost(w http.ResponseWriter, r *http.Request) {
	h.staffUserPost(w, r, views.BulkUnlimited)
}

// staffUserPost changes one user's allocation and answers with the user's
// refreshed block (htmx), or a flash and a redirect back.
func (h *Handler) staffUserPost(w http.ResponseWriter, r *http.Request, kind string) {
	staff, _ := currentUser(r)
	u, ok := h.staffUser(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	back := safeNext(r.PostForm.Get("next"))
	if !strings.HasPrefix(back, "/staff/users") {
		back = "/staff/users"
	}
	in, valid := decodeBulk(kind, r.PostForm)
	if !valid {
		stat := views.UserStat{User: u, Next: back, Action: kind, Amount: in.form.Amount, Errors: in.form.Errors, Key: rand.Text()}
		if wantsFragment(r) {
			h.render(w, r, http.StatusUnprocessableEntity, views.UserStatBlock(stat))
			return
		}
		// Without JavaScript: the users page with this user's block, the
		// message next to the field that was refused.
		p := views.StaffUsers{Query: u.Username, Users: []models.User{u}, Refused: stat, FormKey: rand.Text()}
		h.render(w, r, http.StatusUnprocessableEntity, views.StaffUsersPage(h.layout(r, "Users"), p, back))
		return
	}
	ops := h.store.Staff.Keyed(in.form.Key) // as in staffBulkPost
	var n int
	var err error
	switch kind {
	case views.BulkTopOff:
		n, err = ops.TopOffUser(r.Context(), staff.ID, u.ID, in.amount)
	case views.BulkAddTo:
		n, err = ops.AddToUser(r.Context(), staff.ID, u.ID, in.amount)
	default:
		n, err = ops.SetUnlimitedUser(r.Context(), staff.ID, u.ID, in.on, in.amount)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	done := userChangeMessage(kind, in, n > 0, u.Allocation.Unlimited)
	if !wantsFragment(r) {
		h.flash(r, "@"+u.Username+": "+done)
		redirect(w, r, back)
		return
	}
	if u, err = h.store.Users.Get(r.Context(), u.ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.say(w, r, views.UserStatBlock(views.UserStat{User: u, Next: back, Message: done, Key: rand.Text()}), "@"+u.Username+": "+done)
}

// userChangeMessage says what a change to one user did; wasUnlimited is
// whether the user had unlimited invitations before it.
func userChangeMessage(kind string, in bulkInput, changed, wasUnlimited bool) string {
	switch {
	case kind == views.BulkUnlimited && in.on && changed:
		return "Unlimited invitations on."
	case kind == views.BulkUnlimited && in.on:
		return "Nothing changed: unlimited already."
	case kind == views.BulkUnlimited && changed:
		return fmt.Sprintf("Unlimited off, allocation %d.", in.amount)
	case kind == views.BulkUnlimited:
		return fmt.Sprintf("Nothing changed: already a plain allocation of %d.", in.amount)
	case wasUnlimited:
		return "Nothing changed: this member has unlimited invitations."
	case kind == views.BulkTopOff && changed:
		return fmt.Sprintf("Topped off to %d left.", in.amount)
	case kind == views.BulkTopOff:
		return fmt.Sprintf("Nothing changed: %d or more left already.", in.amount)
	case changed:
		return fmt.Sprintf("Added %d.", in.amount)
	}
	return "Nothing changed."
}

// staffInvitations handles GET /staff/invitations: every invitation, newest
// first, filtered by ?status=, ?inviter= (a username) and ?label=, in keyset pages
// (?before=, an id), so that a page costs the same however many there are.
func (h *Handler) staffInvitations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := views.StaffInvitations{Status: q.Get("status"), Inviter: models.NormalizeUsername(q.Get("inviter")), Label: strings.TrimSpace(q.Get("label"))}
	if p.Status != "" && !models.ValidStatus(p.Status) {
		h.fail(w, r, errUnknownStatus, models.Facts{What: strconv.Quote(p.Status)})
		return
	}
	p.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	p.Before = max(p.Before, 0)
	f := models.InvitationFilter{Status: p.Status, Label: p.Label, Before: p.Before, PerPage: staffInvitationsPerPage}
	if p.Inviter != "" {
		inviter, err := h.store.Users.GetByUsername(r.Context(), p.Inviter)
		if errors.Is(err, models.ErrNoRecord) {
			h.renderStaffInvitations(w, r, p)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		f.InviterID = inviter.ID
	}
	var err error
	if p.Invitations, p.Next, err = h.store.Staff.Invitations(r.Context(), f); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.renderStaffInvitations(w, r, p)
}

// renderStaffInvitations answers the list alone to htmx, the page otherwise.
func (h *Handler) renderStaffInvitations(w http.ResponseWriter, r *http.Request, p views.StaffInvitations) {
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.StaffInvitationList(p))
		return
	}
	h.render(w, r, http.StatusOK, views.StaffInvitationsPage(h.layout(r, "All invitations"), p))
}

// staffInvitationRevokePost handles POST /staff/invitations/{id}/revoke.
func (h *Handler) staffInvitationRevokePost(w http.ResponseWriter, r *http.Request) {
	staff, _ := currentUser(r)
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.RevokeAsStaff(r.Context(), staff.ID, id)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if !wantsFragment(r) {
		h.flash(r, "Revoked the invitation from @"+inv.InviterUsername+" to "+inv.Email+".")
		redirect(w, r, "/staff/invitations")
		return
	}
	h.say(w, r, views.StaffInvitationRow(inv), "Revoked the invitation from @"+inv.InviterUsername+" to "+inv.Email+".")
}

// staffInvitationRevokeConfirm handles GET /staff/invitations/{id}/revoke:
// without JavaScript, a page that asks before staff revoke (with it, htmx
// asks and posts). It changes nothing.
func (h *Handler) staffInvitationRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.Get(r.Context(), id)
	if err == nil && inv.Status != models.StatusPending {
		err = models.ErrNotPending
	}
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	h.render(w, r, http.StatusOK, views.ConfirmPage(h.layout(r, "Revoke an invitation"), views.Confirm{TestID: "staff-revoke-confirm",
		Heading: "Revoke this invitation?", Question: "Revoke the invitation from @" + inv.InviterUsername + " to " + inv.Email + "? Its link stops working, and @" + inv.InviterUsername + " gets the invitation back.",
		Action: views.StaffRevokePath(inv), Submit: "Yes, revoke it", Danger: true, Cancel: "/staff/invitations"}))
}

// staffAudit handles GET /staff/audit.
func (h *Handler) staffAudit(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	entries, more, err := h.store.Staff.Audit(r.Context(), page, auditPerPage)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.AuditLogPage(h.layout(r, "Audit log"), views.AuditLog{Entries: entries, Page: page, More: more, Now: h.store.Now()}))
}
