package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

const (
	recentInvitations  = 10 // on the home page
	invitationsPerPage = 25
)

// invitePanel renders the member's home: counter, invite form, recent invitations.
func (h *Handler) invitePanel(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	h.renderPanel(w, r, http.StatusOK, u, views.InviteForm{NotBefore: h.store.Invitations.InviteFrom(u)})
}

func (h *Handler) renderPanel(w http.ResponseWriter, r *http.Request, status int, u models.User, form views.InviteForm) {
	recent, err := h.recentList(r, u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if form.Closed == "" {
		// loadUser read the standing with the user, in this request.
		st, ok := currentStanding(r)
		if cu, _ := currentUser(r); !ok || cu.ID != u.ID {
			var err error
			if st, err = h.store.Staff.Standing(r.Context(), u.ID); err != nil {
				h.serverError(w, r, err)
				return
			}
		}
		if st.InvitingOff {
			form.Closed = models.InvitingOffMessage(st.InvitingOffReason)
		}
	}
	l := h.layout(r, "Invite")
	l.User = u
	h.render(w, r, status, views.InvitePanelPage(l, views.InvitePanel{User: u, Form: form, Recent: recent}))
}

func (h *Handler) recentList(r *http.Request, userID int64) (views.SentList, error) {
	invs, _, err := h.store.Invitations.List(r.Context(), models.ListFilter{InviterID: userID, PerPage: recentInvitations, SkipTotal: true})
	return views.SentList{Invitations: invs, Page: 1, PerPage: recentInvitations, Now: h.store.Now()}, err
}

// invitationCreatePost handles POST /invitations: the checks of SPEC section
// 5 in order, each with its message next to the field. With htmx the answer
// is the form (cleared, or with its errors) and, out of band, the counters
// and the list; without, a redirect with a flash, or the page again with 422.
func (h *Handler) invitationCreatePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.InviteForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Note: strings.TrimSpace(r.PostForm.Get("note")),
		Label: strings.TrimSpace(r.PostForm.Get("label"))}
	if !u.Verified() {
		h.fail(w, r, models.ErrNotVerified, models.Facts{})
		return
	}
	var v models.Validator
	models.CheckInvitation(&v, form.Email, form.Note)
	models.CheckLabel(&v, form.Label)
	if !v.Valid() {
		form.Errors = v.Errors
		h.inviteFormAgain(w, r, http.StatusUnprocessableEntity, u, form)
		return
	}
	inv, alloc, err := h.store.Invitations.CreateWith(r.Context(), u, models.NewInvitation{Email: form.Email, Note: form.Note, Label: form.Label})
	if err != nil {
		h.inviteRefused(w, r, u, form, err)
		return
	}
	u.Allocation = alloc
	if !wantsFragment(r) {
		h.flash(r, "Invitation sent to "+inv.Email+".")
		redirect(w, r, "/")
		return
	}
	h.say(w, r, views.InviteCreated(u, inv, h.store.Now()), "Invitation sent to "+inv.Email+".")
}

// inviteRefused answers an invitation the models refused: the form again,
// with the message next to the address when it is about the address, or
// above the form otherwise, and the status of the error.
func (h *Handler) inviteRefused(w http.ResponseWriter, r *http.Request, u models.User, form views.InviteForm, err error) {
	if gone(err) {
		return
	}
	facts := models.Facts{Email: form.Email}
	if field, msg, status, ok := fieldError(err, facts, "email", "note"); ok {
		form.Errors = views.FieldErrors{field: msg}
		if errors.Is(err, models.ErrNoInvitesLeft) {
			// The form becomes the sentence "You have no invitations
			// left.", unless an invitation came back meanwhile.
			if alloc, err := h.store.Users.Allocation(r.Context(), u.ID); err == nil {
				u.Allocation = alloc
				if !alloc.CanInvite() {
					form = views.InviteForm{}
				}
			}
		}
		h.inviteFormAgain(w, r, status, u, form)
		return
	}
	e, known := refusal(w, err)
	if !known {
		h.serverError(w, r, err)
		return
	}
	if errors.Is(err, models.ErrInvitingDisabled) {
		// The form gives way to the sentence with staff's reason.
		form.Closed = e.Text(facts)
		h.inviteFormAgain(w, r, statusOf(e.Kind), u, form)
		return
	}
	if errors.Is(err, models.ErrTooNew) {
		// The form gives way to the date from which the member may invite.
		form.NotBefore = e.Facts.Date
		h.inviteFormAgain(w, r, statusOf(e.Kind), u, form)
		return
	}
	form.Problem = e.Text(facts)
	h.inviteFormAgain(w, r, statusOf(e.Kind), u, form)
}

// inviteFormAgain answers an invitation that was not sent: the form with its
// messages and the counters (htmx), or the whole panel.
func (h *Handler) inviteFormAgain(w http.ResponseWriter, r *http.Request, status int, u models.User, form views.InviteForm) {
	if form.NotBefore.IsZero() {
		// A member too new to invite sees the date, not the form, whatever was refused.
		form.NotBefore = h.store.Invitations.InviteFrom(u)
	}
	if wantsFragment(r) {
		h.render(w, r, status, views.InviteRefused(u, form))
		return
	}
	h.renderPanel(w, r, status, u, form)
}

// invitationList handles GET /invitations: the member's sent list,
// paginated (?page=) and filtered (?status=, ?label=).
func (h *Handler) invitationList(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !models.ValidStatus(status) {
		h.fail(w, r, errUnknownStatus, models.Facts{What: strconv.Quote(status)})
		return
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	label := strings.TrimSpace(q.Get("label"))
	f := models.ListFilter{InviterID: u.ID, Status: status, Label: label, Page: page, PerPage: invitationsPerPage}
	// Unfiltered, the total is the member's count of invitations sent,
	// read with them: counting them again on every page was a sixth of it.
	f.SkipTotal = status == "" && label == ""
	invs, total, err := h.store.Invitations.List(r.Context(), f)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if f.SkipTotal {
		total = u.Sent
	}
	list := views.SentList{Invitations: invs, Total: total, Page: page, PerPage: invitationsPerPage, Status: status, Label: label, Now: h.store.Now()}
	if wantsFragment(r) {
		h.render(w, r, http.StatusOK, views.SentListBlock(list))
		return
	}
	h.render(w, r, http.StatusOK, views.InvitationsPage(h.layout(r, "Sent invitations"), list))
}

// invitationID reads {id}; ok is false (and the answer written) when it is not a number.
func (h *Handler) invitationID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return 0, false
	}
	return id, true
}

// invitationResendPost handles POST /invitations/{id}/resend.
func (h *Handler) invitationResendPost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.Resend(r.Context(), u.ID, id)
	h.invitationChanged(w, r, u, id, inv, err, "Sent the invitation to %s again, with a new link.")
}

// invitationRevokePost handles POST /invitations/{id}/revoke.
func (h *Handler) invitationRevokePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.Revoke(r.Context(), u.ID, id)
	h.invitationChanged(w, r, u, id, inv, err, "Withdrew the invitation to %s; you have it back.")
}

// invitationRevokeConfirm handles GET /invitations/{id}/revoke: where the
// row's Revoke leads without JavaScript, a page that asks first (with it,
// htmx asks and posts). It changes nothing.
func (h *Handler) invitationRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.GetForInviter(r.Context(), u.ID, id)
	if err == nil && inv.Status != models.StatusPending {
		err = models.ErrNotPending
	}
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	back := h.rowBack(r, "")
	h.render(w, r, http.StatusOK, views.ConfirmPage(h.layout(r, "Revoke an invitation"), views.Confirm{TestID: "revoke-confirm",
		Heading: "Withdraw this invitation?", Question: "Withdraw the invitation to " + inv.Email + "? Its link stops working, and you get the invitation back.",
		Action: r.URL.Path, Hidden: [][2]string{{"next", back}}, Submit: "Yes, withdraw it", Danger: true, Cancel: back}))
}

// rowBack is where an action on an invitation row returns without
// JavaScript: next when it names a page of this site, else the sent list
// when the row was on it, else the panel.
func (h *Handler) rowBack(r *http.Request, next string) string {
	back := safeNext(next)
	if back == "/" && strings.HasPrefix(r.Referer(), h.cfg.BaseURL+"/invitations") {
		back = "/invitations"
	}
	return back
}

// invitationChanged answers a resend or revoke: for htmx the row and the
// counters, otherwise a flash and a redirect back to the list.
func (h *Handler) invitationChanged(w http.ResponseWriter, r *http.Request, u models.User, id int64, inv models.Invitation, err error, done string) {
	problem, status := "", http.StatusOK
	if err != nil {
		e, known := refusal(w, err)
		if !known || e.Kind == models.KindNotFound {
			h.fail(w, r, err, models.Facts{})
			return
		}
		problem, status = e.Text(models.Facts{}), statusOf(e.Kind)
	}
	back := h.rowBack(r, r.PostFormValue("next"))
	if !wantsFragment(r) {
		if err != nil {
			h.fail(w, r, err, models.Facts{})
			return
		}
		h.flash(r, strings.Replace(done, "%s", inv.Email, 1))
		redirect(w, r, back)
		return
	}
	if problem != "" {
		// Show the row as it is now, with the reason.
		if inv, err = h.store.Invitations.GetForInviter(r.Context(), u.ID, id); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	alloc, err := h.store.Users.Allocation(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	row := views.InvitationRowUpdate(inv, alloc, h.store.Now())
	if problem != "" {
		h.render(w, r, status, views.WithStatusError(row, problem))
		return
	}
	h.say(w, r, row, strings.Replace(done, "%s", inv.Email, 1))
}

// invitationDelivery handles GET /invitations/{id}/delivery: how the
// email of one of the member's own invitations fared, as the badge that
// polls this route while the email is still on its way (404 for anyone
// else's, as for an unknown id).
func (h *Handler) invitationDelivery(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.invitationID(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.GetForInviter(r.Context(), u.ID, id)
	if err != nil {
		h.fail(w, r, err, models.Facts{})
		return
	}
	h.render(w, r, http.StatusOK, views.DeliveryStatus(inv))
}
