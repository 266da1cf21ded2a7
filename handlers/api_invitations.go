package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
)

const (
	apiPageSize        = 50
	maxExpiresInHours  = 24 * 365
	apiUsernameRetries = 5
)

// apiMe handles GET /api/v1/me.
func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	writeJSON(w, http.StatusOK, map[string]any{"user": toJSONUser(u), "allocation": toJSONAllocation(u.Allocation)})
}

type apiInviteRequest struct {
	Email          string          `json:"email"`
	Note           string          `json:"note"`
	Label          string          `json:"label"`
	ExpiresInHours json.RawMessage `json:"expires_in_hours"`
}

// apiInviteCreate handles POST /api/v1/invite/: the invite form's checks and
// messages, in the same order, through the same model code.
func (h *Handler) apiInviteCreate(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	var req apiInviteRequest
	if !h.decodeJSON(w, r, &req) {
		return
	}
	email, note, label := strings.TrimSpace(req.Email), strings.TrimSpace(req.Note), strings.TrimSpace(req.Label)
	var v models.Validator
	models.CheckInvitation(&v, email, note)
	models.CheckLabel(&v, label)
	hours, present, ok := jsonInt(req.ExpiresInHours)
	v.Check(!present || ok && hours >= 1 && hours <= maxExpiresInHours, "expires_in_hours",
		fmt.Sprintf("Give a whole number of hours from 1 to %d.", maxExpiresInHours))
	if !v.Valid() {
		apiValidation(w, v.Errors)
		return
	}
	if !u.Verified() {
		h.apiFail(w, r, models.ErrNotVerified, models.Facts{})
		return
	}
	inv, alloc, err := h.store.Invitations.CreateWith(r.Context(), u, models.NewInvitation{Email: email, Note: note, Label: label,
		ExpiresIn: time.Duration(hours) * time.Hour})
	if err != nil {
		h.apiFail(w, r, err, models.Facts{Email: email})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"invitation":            toJSONInvitation(inv),
		"invitations_remaining": toJSONAllocation(alloc).Remaining,
	})
}

type apiJoinRequest struct {
	Password string `json:"password"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

// apiInviteJoin handles POST /api/v1/invite/{token}: the invitee sets a
// password and joins with the invited address (the drf-simple-invite flow).
// The token is the credential; no bearer token is needed.
func (h *Handler) apiInviteJoin(w http.ResponseWriter, r *http.Request) {
	if !h.allowJoin(w, r, true) {
		return
	}
	token := r.PathValue("token")
	inv, err := h.store.Invitations.LookupToken(r.Context(), token)
	if err != nil {
		h.apiDeadInvitation(w, r, inv, err)
		return
	}
	if err := h.store.Settings.CheckJoiningOpen(r.Context()); err != nil {
		h.apiFail(w, r, err, models.Facts{})
		return
	}
	var req apiJoinRequest
	if !h.decodeJSON(w, r, &req) {
		return
	}
	username := models.NormalizeUsername(req.Username)
	derived := username == ""
	if derived {
		if username, err = h.freeUsername(r, inv.Email); err != nil {
			h.apiServerError(w, r, err)
			return
		}
	}
	nu := models.NewUser{Email: inv.Email, Username: username, Name: strings.TrimSpace(req.Name), Password: req.Password}
	var v models.Validator
	models.CheckSignup(&v, nu.Email, nu.Username, nu.Password)
	models.CheckName(&v, "name", nu.Name)
	if !v.Valid() {
		apiValidation(w, v.Errors)
		return
	}
	u, inv, err := h.store.Invitations.JoinSettingPassword(r.Context(), token, nu)
	for i := 0; derived && errors.Is(err, models.ErrDuplicateUsername) && i < apiUsernameRetries; i++ {
		// Someone took the derived name meanwhile: try another.
		nu.Username = fmt.Sprintf("%s-%d", strings.TrimRight(username[:min(len(username), 24)], "-"), time.Now().UnixNano()%100000)
		u, inv, err = h.store.Invitations.JoinSettingPassword(r.Context(), token, nu)
	}
	if errors.Is(err, models.ErrDuplicateEmail) {
		// The caller gave no address (the invitation's is used), so this is
		// a conflict with an existing account, not a field to fix.
		err = errEmailInUse
	}
	if err != nil {
		h.apiDeadInvitation(w, r, inv, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toJSONUser(u)})
}

var notUsernameChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// freeUsername derives an unused username from an email's local part.
func (h *Handler) freeUsername(r *http.Request, email string) (string, error) {
	local, _, _ := strings.Cut(models.EmailKey(email), "@")
	base := notUsernameChars.ReplaceAllString(local, "")
	if len(base) < 3 {
		base = "member" + base
	}
	base = base[:min(len(base), 24)]
	for i := 1; ; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		if _, err := h.store.Users.GetByUsername(r.Context(), name); errors.Is(err, models.ErrNoRecord) {
			return name, nil
		} else if err != nil {
			return "", err
		}
	}
}

// apiDeadInvitation answers a link token that cannot be used: 404 unknown,
// 410 dead, with the browser page's sentences.
func (h *Handler) apiDeadInvitation(w http.ResponseWriter, r *http.Request, inv models.Invitation, err error) {
	h.apiFail(w, r, err, invitationFacts(inv))
}

// apiInvitationList handles GET /api/v1/invitations: the caller's
// invitations, newest first, ?status=, ?label= and ?cursor= (from next_cursor).
func (h *Handler) apiInvitationList(w http.ResponseWriter, r *http.Request) {
	u := apiUser(r)
	q := r.URL.Query()
	f := models.ListFilter{InviterID: u.ID, Status: q.Get("status"), Label: strings.TrimSpace(q.Get("label")), PerPage: apiPageSize + 1, SkipTotal: true}
	if f.Status != "" && !models.ValidStatus(f.Status) {
		apiValidation(w, map[string]string{"status": "Use one of " + strings.Join(models.Statuses, ", ") + "."})
		return
	}
	if c := q.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id < 1 {
			apiValidation(w, map[string]string{"cursor": "Use the next_cursor of a previous page."})
			return
		}
		f.AfterID = id
	}
	invs, _, err := h.store.Invitations.List(r.Context(), f)
	if err != nil {
		h.apiServerError(w, r, err)
		return
	}
	var next *string
	if len(invs) > apiPageSize {
		invs = invs[:apiPageSize]
		c := strconv.FormatInt(invs[len(invs)-1].ID, 10)
		next = &c
	}
	out := make([]jsonInvitation, 0, len(invs))
	for _, inv := range invs {
		out = append(out, toJSONInvitation(inv))
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": out, "next_cursor": next})
}

// apiInvitationID reads {id}; another member's invitation is 404 like none.
func (h *Handler) apiInvitation(w http.ResponseWriter, r *http.Request) (models.Invitation, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		h.apiNotFound(w, r)
		return models.Invitation{}, false
	}
	inv, err := h.store.Invitations.GetForInviter(r.Context(), apiUser(r).ID, id)
	if errors.Is(err, models.ErrNoRecord) {
		h.apiNotFound(w, r)
		return models.Invitation{}, false
	}
	if err != nil {
		h.apiServerError(w, r, err)
		return models.Invitation{}, false
	}
	return inv, true
}

// apiInvitationShow handles GET /api/v1/invitations/{id}.
func (h *Handler) apiInvitationShow(w http.ResponseWriter, r *http.Request) {
	if inv, ok := h.apiInvitation(w, r); ok {
		writeJSON(w, http.StatusOK, toJSONInvitation(inv))
	}
}

// apiInvitationRevoke handles DELETE /api/v1/invitations/{id}: revoke.
func (h *Handler) apiInvitationRevoke(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.apiInvitation(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.Revoke(r.Context(), apiUser(r).ID, inv.ID)
	h.apiInvitationChanged(w, r, inv, err)
}

// apiInvitationResend handles POST /api/v1/invitations/{id}/resend.
func (h *Handler) apiInvitationResend(w http.ResponseWriter, r *http.Request) {
	inv, ok := h.apiInvitation(w, r)
	if !ok {
		return
	}
	inv, err := h.store.Invitations.Resend(r.Context(), apiUser(r).ID, inv.ID)
	h.apiInvitationChanged(w, r, inv, err)
}

func (h *Handler) apiInvitationChanged(w http.ResponseWriter, r *http.Request, inv models.Invitation, err error) {
	if err != nil {
		h.apiFail(w, r, err, models.Facts{Email: inv.Email})
		return
	}
	writeJSON(w, http.StatusOK, toJSONInvitation(inv))
}
