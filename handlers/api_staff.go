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

// apiStaffTopOff handles POST /api/v1/staff/topoff.
func (h *Handler) apiStaffTopOff(w http.ResponseWriter, r *http.Request) {
	if n, ok := h.apiAmount(w, r, 0); ok {
		changed, err := h.store.Staff.TopOffAll(r.Context(), apiUser(r).ID, n)
		h.apiChanged(w, r, changed, err)
	}
}

// apiStaffAddTo handles POST /api/v1/staff/addto.
func (h *Handler) apiStaffAddTo(w http.ResponseWriter, r *http.Request) {
	if n, ok := h.apiAmount(w, r, 1); ok {
		changed, err := h.store.Staff.AddToAll(r.Context(), apiUser(r).ID, n, false)
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
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 0); ok {
		changed, err := h.store.Staff.TopOffUser(r.Context(), apiUser(r).ID, u.ID, n)
		h.apiChanged(w, r, changed, err)
	}
}

// apiStaffUserAddTo handles POST /api/v1/staff/users/{id}/addto.
func (h *Handler) apiStaffUserAddTo(w http.ResponseWriter, r *http.Request) {
	u, ok := h.apiTargetUser(w, r)
	if !ok {
		return
	}
	if n, ok := h.apiAmount(w, r, 1); ok {
		changed, err := h.store.Staff.AddToUser(r.Context(), apiUser(r).ID, u.ID, n)
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
