package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beckon-app/beckon/models"
)

// The JSON API: bearer tokens, JSON in and out, and one error shape:
// {"error": {"code", "message", "fields"}}. Codes are stable; messages are
// for people; internal error text never leaves the server.

// apiMaxBody bounds a JSON request body.
const apiMaxBody = 16 << 10

type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Fields  map[string][]string `json:"fields"`
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"Something went wrong.","fields":{}}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// apiError answers an error in the API's shape.
func apiError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	detail := apiErrorDetail{Code: code, Message: message, Fields: map[string][]string{}}
	for f, msg := range fields {
		detail.Fields[f] = []string{msg}
	}
	writeJSON(w, status, apiErrorBody{Error: detail})
}

// apiServerError answers an error the handler did not expect, through the
// vocabulary (a 500 that says nothing of it for an unknown one).
func (h *Handler) apiServerError(w http.ResponseWriter, r *http.Request, err error) {
	h.apiFail(w, r, err, models.Facts{})
}

func (h *Handler) apiNotFound(w http.ResponseWriter, r *http.Request) {
	h.apiFail(w, r, models.ErrNoRecord, models.Facts{})
}

func (h *Handler) apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.apiFail(w, r, errMethodNotAllowed, models.Facts{})
}

// apiValidation answers field errors of the input's form (422 validation_failed).
func apiValidation(w http.ResponseWriter, fields map[string]string) {
	apiError(w, http.StatusUnprocessableEntity, errValidation.Code, errValidation.Message, fields)
}

// decodeJSON reads the request body into dst: JSON only, within the size
// limit, no unknown fields, nothing after the value. On failure it answers
// and returns false.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		h.apiFail(w, r, errUnsupportedMedia, models.Facts{})
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxBody))
	if err != nil {
		h.apiFail(w, r, errBodyTooLarge, models.Facts{})
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			apiValidation(w, map[string]string{typeErr.Field: "This field has the wrong type."})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			h.apiFail(w, r, errUnknownField.With(models.Facts{What: strconv.Quote(field)}), models.Facts{})
		default:
			h.apiFail(w, r, errInvalidJSON, models.Facts{})
		}
		return false
	}
	if dec.More() || !onlySpaceLeft(dec) {
		h.apiFail(w, r, errTrailingJSON, models.Facts{})
		return false
	}
	return true
}

// onlySpaceLeft reports whether nothing but white space follows the value.
func onlySpaceLeft(dec *json.Decoder) bool {
	rest, _ := io.ReadAll(dec.Buffered())
	return len(bytes.TrimSpace(rest)) == 0
}

// jsonInt reads a whole number written as a JSON integer literal (not a
// string, a fraction or an exponent); absent is ok false with present false.
func jsonInt(raw json.RawMessage) (n int, present, ok bool) {
	if raw == nil {
		return 0, false, false
	}
	s := string(raw)
	if s == "null" {
		return 0, false, false
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 9 || strings.Trim(digits, "0123456789") != "" {
		return 0, true, false
	}
	n, err := strconv.Atoi(s)
	return n, true, err == nil
}

type apiUserKey struct{}

// apiUser returns the user the request's bearer token belongs to.
func apiUser(r *http.Request) models.User {
	u, _ := r.Context().Value(apiUserKey{}).(models.User)
	return u
}

// apiAuth admits requests with a live bearer token (401 otherwise).
func (h *Handler) apiAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme's name is case-insensitive (RFC 9110, 11.1).
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			h.apiFail(w, r, errNoToken, models.Facts{})
			return
		}
		u, err := h.store.APITokens.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, models.ErrTokenUnknown) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="beckon", error="invalid_token"`)
			err = errBadToken
		}
		if err != nil {
			h.apiServerError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiUserKey{}, u)))
	})
}

// apiStaff admits staff only (403 otherwise). Use it after apiAuth.
func (h *Handler) apiStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !apiUser(r).IsStaff() {
			h.apiFail(w, r, errStaffOnly, models.Facts{})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// JSON shapes.

type jsonUserRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

type jsonInvitation struct {
	ID         int64        `json:"id"`
	Email      string       `json:"email"`
	Note       string       `json:"note"`
	Status     string       `json:"status"`
	Delivery   string       `json:"delivery"`
	CreatedAt  string       `json:"created_at"`
	ExpiresAt  string       `json:"expires_at"`
	AcceptedAt *string      `json:"accepted_at"`
	Invitee    *jsonUserRef `json:"invitee"`
	Label      string       `json:"label"`
}

type jsonAllocation struct {
	Allocated int  `json:"allocated"`
	Held      int  `json:"held"`
	Remaining *int `json:"remaining"`
	Accepted  int  `json:"accepted"`
	Unlimited bool `json:"unlimited"`
}

type jsonUser struct {
	ID       int64  `json:"id"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Staff    bool   `json:"staff"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func toJSONInvitation(inv models.Invitation) jsonInvitation {
	j := jsonInvitation{ID: inv.ID, Email: inv.Email, Note: inv.Note, Status: inv.Status, Delivery: inv.Delivery,
		CreatedAt: rfc3339(inv.CreatedAt), ExpiresAt: rfc3339(inv.ExpiresAt), Label: inv.Label}
	if !inv.AcceptedAt.IsZero() {
		s := rfc3339(inv.AcceptedAt)
		j.AcceptedAt = &s
	}
	if inv.InviteeID != 0 {
		j.Invitee = &jsonUserRef{ID: inv.InviteeID, Username: inv.InviteeUsername}
	}
	return j
}

func toJSONAllocation(a models.Allocation) jsonAllocation {
	j := jsonAllocation{Allocated: a.Allocated, Held: a.Held, Accepted: a.Accepted, Unlimited: a.Unlimited}
	if !a.Unlimited {
		n := a.Remaining()
		j.Remaining = &n
	}
	return j
}

func toJSONUser(u models.User) jsonUser {
	return jsonUser{ID: u.ID, Email: u.Email, Username: u.Username, Name: u.Name, Staff: u.IsStaff()}
}
