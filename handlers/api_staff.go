package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/beckon-app/beckon/models"
)

type apiAmountRequest struct {
	Amount json.RawMessage `json:"amount"`
}

// apiAmount decodes {"amount": N} with the same bounds as the forms.
func (h *Handler) apiAmount(w http.ResponseWriter, r *http.Request, min int) (int, bool) {
	var req apiAmountRequest
	if !h.decodeJSON(w, r, &req) {
		return 0, false
	}
	n, _, ok := jsonInt(req.Amount)
	if !ok || n < min || n > models.MaxAmount {
		apiValidation(w, map[string]string{"amount": models.AmountMessage(min)})
		return 0, false
	}
	return n, true
}

// apiStaffOps is the staff operations under the request's Idempotency-Key
// header, if it has one: a retried request with the same key answers as
// the first did instead of changing allocations again. ok is false, and
// 422 written, for a key that cannot be one.
func (h *Handler) apiStaffOps(w http.ResponseWriter, r *http.Request) (*models.Staff, bool) {
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !models.ValidIdempotencyKey(key) {
		h.apiFail(w, r, models.ErrBadIdempotencyKey, models.Facts{})
		return nil, false
	}
	return h.store.Staff.Keyed(key), true
}

// apiStaffTopOff handles POST /api/v1/staff/topoff.
func (h *Handler) apiStaffTopOff(w http.ResponseWriter, r *http.Request) {
	ops, ok := h.apiStaffOps(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 0); ok {
		changed, err := ops.TopOffAll(r.Context(), apiUser(r).ID, n)
		h.apiChanged(w, r, changed, err)
	}
}

// apiStaffAddTo handles POST /api/v1/staff/addto.
func (h *Handler) apiStaffAddTo(w http.ResponseWriter, r *http.Request) {
	ops, ok := h.apiStaffOps(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 1); ok {
		changed, err := ops.AddToAll(r.Context(), apiUser(r).ID, n, false)
		h.apiChanged(w, r, changed, err)
	}
}

// apiTargetUser reads {id} of a user, or answers 404.
func (h *Handler) apiTargetUser(w http.ResponseWriter, r *http.Request) (models.User, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.apiNotFound(w, r)
		return models.User{}, false
	}
	u, err := h.store.Users.Get(r.Context(), id)
	if err != nil {
		h.apiServerError(w, r, err)
		return models.User{}, false
	}
	return u, true
}

// apiStaffUserTopOff handles POST /api/v1/staff/users/{id}/topoff.
func (h *Handler) apiStaffUserTopOff(w http.ResponseWriter, r *http.Request) {
	ops, ok := h.apiStaffOps(w, r)
	if !ok {
		return
	}
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 0); ok {
		changed, err := ops.TopOffUser(r.Context(), apiUser(r).ID, u.ID, n)
		h.apiChanged(w, r, changed, err)
	}
}

// apiStaffUserAddTo handles POST /api/v1/staff/users/{id}/addto.
func (h *Handler) apiStaffUserAddTo(w http.ResponseWriter, r *http.Request) {
	ops, ok := h.apiStaffOps(w, r)
	if !ok {
		return
	}
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 1); ok {
		changed, err := ops.AddToUser(r.Context(), apiUser(r).ID, u.ID, n)
		h.apiChanged(w, r, changed, err)
	}
}

func (h *Handler) apiChanged(w http.ResponseWriter, r *http.Request, changed int, err error) {
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"users_changed": changed})
}

// apiStaffUserStat handles GET /api/v1/staff/users/{id}/stat: the user's allocation.
func (h *Handler) apiStaffUserStat(w http.ResponseWriter, r *http.Request) {
	if u, ok := h.apiTargetUser(w, r); ok {
		writeJSON(w, http.StatusOK, toJSONAllocation(u.Allocation))
	}
}

type jsonDay struct {
	Day         string `json:"day"`
	Invitations int    `json:"invitations"`
	Joins       int    `json:"joins"`
}

// apiStaffStats handles GET /api/v1/staff/stats: the dashboard's totals.
func (h *Handler) apiStaffStats(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.Staff.Stats(r.Context())
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	days := make([]jsonDay, 0, len(st.Days))
	for _, d := range st.Days {
		days = append(days, jsonDay{Day: d.Day.Format("2006-01-02"), Invitations: d.Invitations, Joins: d.Joins})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"members": st.Members, "sent": st.Sent, "pending": st.Pending, "accepted": st.Accepted,
		"joined_independently": st.JoinedIndependently, "expired": st.Expired, "revoked": st.Revoked,
		"acceptance_rate": st.AcceptanceRate(), "days": days,
	})
}

type apiReasonRequest struct {
	Reason *string `json:"reason"`
}

type apiInvitingRequest struct {
	Inviting *bool   `json:"inviting"`
	Reason   *string `json:"reason"`
}

type jsonStanding struct {
	Suspended       bool    `json:"suspended"`
	SuspendedAt     *string `json:"suspended_at"`
	SuspendedReason string  `json:"suspended_reason"`
	Inviting        bool    `json:"inviting"`
	InvitingReason  string  `json:"inviting_reason"`
}

type jsonModeration struct {
	UsersChanged       int          `json:"users_changed"`
	InvitationsRevoked int          `json:"invitations_revoked"`
	TokensRevoked      int          `json:"tokens_revoked"`
	Standing           jsonStanding `json:"standing"`
}

// apiReason checks a decoded reason; absent counts as empty.
func apiReason(w http.ResponseWriter, raw *string, required bool) (string, bool) {
	reason := ""
	if raw != nil {
		reason = models.TrimReason(*raw)
	}
	var v models.Validator
	models.CheckReason(&v, "reason", reason, required)
	if !v.Valid() {
		apiValidation(w, v.Errors)
		return "", false
	}
	return reason, true
}

// apiStaffUserSuspend handles POST /api/v1/staff/users/{id}/suspend {"reason"}.
func (h *Handler) apiStaffUserSuspend(w http.ResponseWriter, r *http.Request) {
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	var req apiReasonRequest
	if !h.decodeJSON(w, r, &req) {
		return
	}
	reason, ok := apiReason(w, req.Reason, true)
	if !ok {
		return
	}
	res, err := h.store.Staff.Suspend(r.Context(), apiUser(r).ID, u.ID, reason)
	h.apiModerated(w, r, u, res, err)
}

// apiStaffUserUnsuspend handles POST /api/v1/staff/users/{id}/unsuspend,
// with no body or {"reason"}.
func (h *Handler) apiStaffUserUnsuspend(w http.ResponseWriter, r *http.Request) {
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	var req apiReasonRequest
	if r.ContentLength != 0 && !h.decodeJSON(w, r, &req) {
		return
	}
	reason, ok := apiReason(w, req.Reason, false)
	if !ok {
		return
	}
	res, err := h.store.Staff.Unsuspend(r.Context(), apiUser(r).ID, u.ID, reason)
	h.apiModerated(w, r, u, res, err)
}

// apiStaffUserInviting handles POST /api/v1/staff/users/{id}/inviting
// {"inviting": false, "reason"} (a reason is required to turn it off).
func (h *Handler) apiStaffUserInviting(w http.ResponseWriter, r *http.Request) {
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	var req apiInvitingRequest
	if !h.decodeJSON(w, r, &req) {
		return
	}
	if req.Inviting == nil {
		apiValidation(w, map[string]string{"inviting": "Say true to turn inviting on, false to turn it off."})
		return
	}
	reason, ok := apiReason(w, req.Reason, !*req.Inviting)
	if !ok {
		return
	}
	res, err := h.store.Staff.SetInviting(r.Context(), apiUser(r).ID, u.ID, *req.Inviting, reason)
	h.apiModerated(w, r, u, res, err)
}

// apiModerated answers a moderation action: what it changed and the
// member's standing after it.
func (h *Handler) apiModerated(w http.ResponseWriter, r *http.Request, u models.User, res models.ModerationResult, err error) {
	if err != nil {
		h.apiFail(w, r, err, models.Facts{})
		return
	}
	st, err := h.store.Staff.Standing(r.Context(), u.ID)
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	j := jsonModeration{UsersChanged: res.UsersChanged, InvitationsRevoked: res.InvitationsRevoked, TokensRevoked: res.TokensRevoked,
		Standing: jsonStanding{Suspended: st.Suspended, SuspendedReason: st.SuspendedReason, Inviting: !st.InvitingOff, InvitingReason: st.InvitingOffReason}}
	if st.Suspended {
		at := rfc3339(st.SuspendedAt)
		j.Standing.SuspendedAt = &at
	}
	writeJSON(w, http.StatusOK, j)
}
