package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

// staffRequestsShown bounds the queue's page: the oldest requests first.
const staffRequestsShown = 100

// requestForm handles GET /request: in invite-only mode, the form that asks
// for an invitation; in open mode anyone may sign up, so it sends there.
func (h *Handler) requestForm(w http.ResponseWriter, r *http.Request) {
	if h.requestElsewhere(w, r) {
		return
	}
	h.render(w, r, http.StatusOK, views.RequestPage(h.layout(r, "Ask for an invitation"), views.RequestForm{}, false))
}

// requestElsewhere sends visitors for whom /request is not meant on: to
// /signup in open mode, home when signed in. It reports whether it did.
func (h *Handler) requestElsewhere(w http.ResponseWriter, r *http.Request) bool {
	if h.cfg.SignupOpen {
		redirect(w, r, "/signup")
		return true
	}
	if _, ok := currentUser(r); ok {
		redirect(w, r, "/")
		return true
	}
	return false
}

// requestFormPost handles POST /request. A new address and a member's get
// the same answer (see models.Requests.Ask); BECKON_JOIN_RATE applies.
func (h *Handler) requestFormPost(w http.ResponseWriter, r *http.Request) {
	if h.requestElsewhere(w, r) {
		return
	}
	if !h.allowJoin(w, r, false) {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	form := views.RequestForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	l := h.layout(r, "Ask for an invitation")
	var v models.Validator
	models.CheckRequest(&v, form.Email, form.Reason)
	if !v.Valid() {
		form.Errors = v.Errors
		h.render(w, r, http.StatusUnprocessableEntity, views.RequestPage(l, form, false))
		return
	}
	err := h.store.Requests.Ask(r.Context(), form.Email, form.Reason)
	if field, msg, status, ok := fieldError(err, models.Facts{Email: form.Email}, "email", "reason"); ok {
		form.Errors = views.FieldErrors{field: msg}
		h.render(w, r, status, views.RequestPage(l, form, false))
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.RequestPage(l, form, true))
}

// requestConfirm handles GET /request/confirm/{token}: a button, nothing changed.
func (h *Handler) requestConfirm(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	token := r.PathValue("token")
	if _, err := h.store.Requests.CheckConfirmToken(r.Context(), token); err != nil {
		h.deadTokenPage(w, r, err, "request confirmation")
		return
	}
	h.render(w, r, http.StatusOK, views.RequestConfirmPage(h.layout(r, "Confirm your request"), token))
}

// requestConfirmPost handles POST /request/confirm/{token}: the request
// enters the staff queue.
func (h *Handler) requestConfirmPost(w http.ResponseWriter, r *http.Request) {
	tokenPageHeaders(w)
	req, err := h.store.Requests.Confirm(r.Context(), r.PathValue("token"))
	if err != nil {
		h.deadTokenPage(w, r, err, "request confirmation")
		return
	}
	h.render(w, r, http.StatusOK, views.RequestConfirmedPage(h.layout(r, "Request sent"), req))
}

// staffRequests handles GET /staff/requests: the queue, oldest first.
func (h *Handler) staffRequests(w http.ResponseWriter, r *http.Request) {
	h.renderStaffRequests(w, r, http.StatusOK, nil)
}

func (h *Handler) renderStaffRequests(w http.ResponseWriter, r *http.Request, status int, rows map[int64]views.RequestRowState) {
	reqs, total, err := h.store.Requests.Queue(r.Context(), staffRequestsShown)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, views.StaffRequestsPage(h.layout(r, "Requests"), views.StaffRequests{Requests: reqs, Total: total, Rows: rows}))
}

// requestID reads {id}; ok is false (and 404 answered) when it is not a number.
func (h *Handler) requestID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	return h.invitationID(w, r)
}

// staffRequestApprovePost handles POST /staff/requests/{id}/approve: an
// invitation from the signed-in staff member, taken from nobody's allocation.
func (h *Handler) staffRequestApprovePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.requestID(w, r)
	if !ok {
		return
	}
	req, inv, err := h.store.Requests.Approve(r.Context(), u, id)
	if err != nil {
		h.requestRefused(w, r, id, req, views.RequestRowState{}, err)
		return
	}
	h.requestAnswered(w, r, req, "Approved: an invitation is on its way to "+inv.Email+".")
}

// staffRequestDeclinePost handles POST /staff/requests/{id}/decline, with an
// optional reason that is emailed to the requester.
func (h *Handler) staffRequestDeclinePost(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	id, ok := h.requestID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r)
		return
	}
	st := views.RequestRowState{DeclineReason: strings.TrimSpace(r.PostForm.Get("reason"))}
	var v models.Validator
	models.CheckReason(&v, "reason", st.DeclineReason, false)
	if !v.Valid() {
		st.DeclineError = v.Errors["reason"]
		req, err := h.store.Requests.Get(r.Context(), id)
		if err != nil {
			h.fail(w, r, err, models.Facts{})
			return
		}
		h.requestRowAgain(w, r, http.StatusUnprocessableEntity, req, st)
		return
	}
	req, err := h.store.Requests.Decline(r.Context(), u.ID, id, st.DeclineReason)
	if err != nil {
		h.requestRefused(w, r, id, req, st, err)
		return
	}
	msg := "Declined: we emailed " + req.Email + "."
	if req.DeclineReason != "" {
		msg = "Declined: we emailed " + req.Email + " your reason."
	}
	h.requestAnswered(w, r, req, msg)
}

// requestAnswered answers an approval or a decline: the row saying so
// (htmx), or a flash and the queue again.
func (h *Handler) requestAnswered(w http.ResponseWriter, r *http.Request, req models.InviteRequest, done string) {
	if !wantsFragment(r) {
		h.flash(r, done)
		redirect(w, r, "/staff/requests")
		return
	}
	h.render(w, r, http.StatusOK, views.RequestRow(req, views.RequestRowState{Done: done}))
}

// requestRefused answers an answer the models refused: an unknown request
// is a 404 page; any other refusal (already a member, already answered, a
// rate limit) is said on the request's row, with its status.
func (h *Handler) requestRefused(w http.ResponseWriter, r *http.Request, id int64, req models.InviteRequest, st views.RequestRowState, err error) {
	e, known := refusal(w, err)
	if !known || errors.Is(err, models.ErrNoRecord) {
		h.fail(w, r, err, models.Facts{})
		return
	}
	if errors.Is(err, models.ErrRequestAnswered) && !wantsFragment(r) {
		h.fail(w, r, err, models.Facts{})
		return
	}
	if req.ID == 0 {
		if req, err = h.store.Requests.Get(r.Context(), id); err != nil {
			h.fail(w, r, err, models.Facts{})
			return
		}
	}
	st.Problem = e.Text(models.Facts{Email: req.Email, Site: h.cfg.SiteName})
	if errors.Is(err, models.ErrRequestAnswered) {
		st = views.RequestRowState{Done: st.Problem}
	}
	h.requestRowAgain(w, r, statusOf(e.Kind), req, st)
}

// requestRowAgain answers with one row in state st: the row (htmx) or the
// queue with it.
func (h *Handler) requestRowAgain(w http.ResponseWriter, r *http.Request, status int, req models.InviteRequest, st views.RequestRowState) {
	if wantsFragment(r) {
		h.render(w, r, status, views.RequestRow(req, st))
		return
	}
	h.renderStaffRequests(w, r, status, map[int64]views.RequestRowState{req.ID: st})
}
