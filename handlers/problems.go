package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/beckon-app/beckon/models"
)

// The HTTP side of the error vocabulary. Every refusal is a *models.Error,
// declared once with its code, kind, field, title and message (the models'
// in models/errors.go, the HTTP layer's own below); statusOf gives each kind
// its status, and fail (pages and htmx fragments), apiFail (JSON) and
// fieldError (a message next to a form field) all answer from that one
// declaration. Adding an error is one line; no switch has to agree.

// statusOf is the HTTP status of each kind of error.
func statusOf(k models.Kind) int {
	switch k {
	case models.KindBadRequest:
		return http.StatusBadRequest
	case models.KindUnauthorized:
		return http.StatusUnauthorized
	case models.KindForbidden:
		return http.StatusForbidden
	case models.KindNotFound:
		return http.StatusNotFound
	case models.KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case models.KindConflict:
		return http.StatusConflict
	case models.KindGone:
		return http.StatusGone
	case models.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case models.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case models.KindInvalid:
		return http.StatusUnprocessableEntity
	case models.KindRateLimited:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// The HTTP layer's own errors.
var (
	errInternal = declare(&models.Error{Code: "internal_error", Kind: models.KindInternal, Title: "Something went wrong",
		Message: "We could not complete that request. Please try again in a moment."})
	errBadForm = declare(&models.Error{Code: "bad_request", Kind: models.KindBadRequest, Title: "Bad request",
		Message: "The form could not be read. Please go back and try again."})
	errMethodNotAllowed = declare(&models.Error{Code: "method_not_allowed", Kind: models.KindMethodNotAllowed, Title: "Method not allowed",
		Message: "This address does not take that kind of request."})
	errForbidden = declare(&models.Error{Code: "forbidden", Kind: models.KindForbidden, Title: "Forbidden",
		Message: "Your account may not open this page."})
	errStaffOnly = declare(&models.Error{Code: "forbidden", Kind: models.KindForbidden, Title: "Forbidden",
		Message: "Only staff may do this."})
	errCrossSite = declare(&models.Error{Code: "cross_site", Kind: models.KindForbidden, Title: "Forbidden",
		Message: "This request came from another site, so it was refused."})
	errInviteOnly = declare(&models.Error{Code: "invite_only", Kind: models.KindForbidden, Title: "Joining is by invitation",
		Message: "Ask a member to invite you, then follow the link in their email."})
	errValidation = declare(&models.Error{Code: "validation_failed", Kind: models.KindInvalid, Title: "Not valid",
		Message: "Some fields are not valid."})
	errUnknownStatus = declare(&models.Error{Code: "validation_failed", Kind: models.KindInvalid, Field: "status", Title: "Unknown status",
		Message: "There is no invitation status called {what}."})

	// The JSON API's.
	errInvalidJSON = declare(&models.Error{Code: "invalid_json", Kind: models.KindBadRequest, Title: "Bad request",
		Message: "The body is not valid JSON."})
	errTrailingJSON = declare(&models.Error{Code: "invalid_json", Kind: models.KindBadRequest, Title: "Bad request",
		Message: "The body holds more than one JSON value."})
	errUnknownField = declare(&models.Error{Code: "unknown_field", Kind: models.KindBadRequest, Title: "Bad request",
		Message: "Unknown field {what}."})
	errUnsupportedMedia = declare(&models.Error{Code: "unsupported_media_type", Kind: models.KindUnsupportedMedia, Title: "Not JSON",
		Message: "Send the body as JSON, with Content-Type: application/json."})
	errBodyTooLarge = declare(&models.Error{Code: "body_too_large", Kind: models.KindTooLarge, Title: "Too large",
		Message: "The body is larger than " + strconv.Itoa(apiMaxBody) + " bytes."})
	errNoToken = declare(&models.Error{Code: "unauthorized", Kind: models.KindUnauthorized, Title: "Unauthorized",
		Message: "Send an API token: Authorization: Bearer <token>."})
	errBadToken = declare(&models.Error{Code: "unauthorized", Kind: models.KindUnauthorized, Title: "Unauthorized",
		Message: "This API token is not valid or was revoked."})
	errEmailInUse = declare(&models.Error{Code: "email_taken", Kind: models.KindConflict, Title: "Address in use",
		Message: "An account with this email address already exists."})
)

// httpErrors lists the HTTP layer's errors, as models.DeclaredErrors lists
// the models': appended to only while the package's variables are set.
var httpErrors []*models.Error

func declare(e *models.Error) *models.Error {
	httpErrors = append(httpErrors, e)
	return e
}

// explain is err as the user hears it, and its status. An error outside the
// vocabulary is logged here, the one place a request's internal error is
// logged, and answered as errInternal, which says nothing of it.
func (h *Handler) explain(r *http.Request, err error) (*models.Error, int) {
	if e, ok := models.AsError(err); ok {
		return e, statusOf(e.Kind)
	}
	h.logger.Error("server error", "method", r.Method, "path", logPath(r.URL.Path), "err", err)
	return errInternal, http.StatusInternalServerError
}

// gone reports whether err is only a client that went away, whose request
// needs no answer.
func gone(err error) bool { return errors.Is(err, context.Canceled) }

// fail answers err with a page (or, for an htmx fragment request, a
// fragment) with its status, title and message; f holds what the caller
// knows of the case for the message.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, f models.Facts) {
	if gone(err) {
		return
	}
	e, status := h.explain(r, err)
	setRetryAfter(w, e)
	if f.Site == "" {
		f.Site = h.cfg.SiteName
	}
	h.errorPage(w, r, status, e.Title, e.Text(f))
}

// apiFail answers err in the API's shape,
// {"error": {"code", "message", "fields"}}, with its status.
func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error, f models.Facts) {
	if gone(err) {
		return
	}
	e, status := h.explain(r, err)
	setRetryAfter(w, e)
	if f.Site == "" {
		f.Site = h.cfg.SiteName
	}
	msg := e.Text(f)
	var fields map[string]string
	if e.Field != "" {
		fields = map[string]string{e.Field: msg}
	}
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="beckon"`)
	}
	apiError(w, status, e.Code, msg, fields)
}

// refusal is err as a refusal to say in place, in the form or row it is
// about: the vocabulary's Error, whose Retry-After it sets. ok is false for
// an error outside the vocabulary, which the caller hands to fail.
func refusal(w http.ResponseWriter, err error) (*models.Error, bool) {
	e, ok := models.AsError(err)
	if ok {
		setRetryAfter(w, e)
	}
	return e, ok
}

// setRetryAfter says when a rate-limited request may be tried again.
func setRetryAfter(w http.ResponseWriter, e *models.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
}

// fieldError returns, when err belongs next to one of fields of a form, the
// field, its message and the status to answer with.
func fieldError(err error, f models.Facts, fields ...string) (field, msg string, status int, ok bool) {
	e, isErr := models.AsError(err)
	if !isErr || e.Field == "" {
		return "", "", 0, false
	}
	for _, name := range fields {
		if name == e.Field {
			return e.Field, e.Text(f), statusOf(e.Kind), true
		}
	}
	return "", "", 0, false
}
