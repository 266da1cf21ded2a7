package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Error codes of the API.
const (
	codeInvalidJSON      = "invalid_json"
	codeUnknownField     = "unknown_field"
	codeUnsupportedMedia = "unsupported_media_type"
	codeBodyTooLarge     = "body_too_large"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotVerified      = "email_not_verified"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeNotPending       = "not_pending"
	codeConflict         = "conflict"
	codeGone             = "invitation_gone"
	codeValidation       = "validation_failed"
	codeRateLimited      = "rate_limited"
	codeInternal         = "internal_error"
)

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

// apiServerError logs err and answers a 500 that says nothing of it.
func (h *Handler) apiServerError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.logger.Error("server error", "method", r.Method, "path", logPath(r.URL.Path), "err", err)
	apiError(w, http.StatusInternalServerError, codeInternal, "Something went wrong. Please try again later.", nil)
}

func apiNotFound(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusNotFound, codeNotFound, "There is nothing at this address.", nil)
}

func apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	apiError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "This address does not take that method.", nil)
}

func apiValidation(w http.ResponseWriter, fields map[string]string) {
	apiError(w, http.StatusUnprocessableEntity, codeValidation, "Some fields are not valid.", fields)
}

func apiRateLimited(w http.ResponseWriter, rl *models.RateLimitError) {
	w.Header().Set("Retry-After", strconv.Itoa(max(rl.RetryAfter, 1)))
	apiError(w, http.StatusTooManyRequests, codeRateLimited, rl.Reason, nil)
}

// decodeJSON reads the request body into dst: JSON only, within the size
// limit, no unknown fields, nothing after the value. On failure it answers
// and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "Send the body as JSON, with Content-Type: application/json.", nil)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxBody))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, codeBodyTooLarge, fmt.Sprintf("The body is larger than %d bytes.", apiMaxBody), nil)
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
			apiError(w, http.StatusBadRequest, codeUnknownField, "Unknown field "+strconv.Quote(field)+".", nil)
		default:
			apiError(w, http.StatusBadRequest, codeInvalidJSON, "The body is not valid JSON.", nil)
		}
		return false
	}
	if dec.More() || !onlySpaceLeft(dec) {
		apiError(w, http.StatusBadRequest, codeInvalidJSON, "The body holds more than one JSON value.", nil)
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
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="beckon"`)
			apiError(w, http.StatusUnauthorized, codeUnauthorized, "Send an API token: Authorization: Bearer <token>.", nil)
			return
		}
		u, err := h.store.APITokens.Authenticate(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, models.ErrTokenUnknown) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="beckon", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, codeUnauthorized, "This API token is not valid or was revoked.", nil)
			return
		}
		if err != nil {
			h.apiServerError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiUserKey{}, u)))
	})
}

// apiStaff admits staff only (403 otherwise). Use it after apiAuth.
func apiStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !apiUser(r).IsStaff() {
			apiError(w, http.StatusForbidden, codeForbidden, "Only staff may do this.", nil)
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
		CreatedAt: rfc3339(inv.CreatedAt), ExpiresAt: rfc3339(inv.ExpiresAt)}
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
