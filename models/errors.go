package models

import (
	"errors"
	"strings"
	"time"
)

// Kind is what sort of refusal an Error is. The HTTP layer gives each kind
// one status, so a new error needs no new mapping anywhere.
type Kind int

// The kinds of Error.
const (
	KindInternal         Kind = iota // not the user's to fix: 500
	KindBadRequest                   // 400: the request could not be read
	KindUnauthorized                 // 401
	KindForbidden                    // 403
	KindNotFound                     // 404: unknown, or not yours
	KindMethodNotAllowed             // 405
	KindConflict                     // 409: the thing is no longer in the state the request needs
	KindGone                         // 410: a dead link
	KindTooLarge                     // 413
	KindUnsupportedMedia             // 415
	KindInvalid                      // 422: input to fix
	KindRateLimited                  // 429
)

// Error is a refusal that a person must hear about, declared once below
// with everything every answer needs: Code is the JSON API's error code,
// Kind decides the HTTP status, Field is the form field the message belongs
// next to ("" for the request as a whole), Title heads an error page, and
// Message is the sentence for people. A message may name facts of the case
// in braces ({email}, {inviter}, {date}, {site}, {what}, {reason},
// {domain}), filled in by Text.
//
// Every copy made by With matches its declaration under errors.Is, so code
// that tests for ErrAlreadyMember keeps working whatever facts it carries.
type Error struct {
	Code    string
	Kind    Kind
	Field   string
	Title   string
	Message string
	Facts   Facts
	// RetryAfter is, for KindRateLimited, the seconds until a retry may pass.
	RetryAfter int
}

// Facts are what a message may say about the case at hand.
type Facts struct {
	Email   string    // the address concerned
	Inviter string    // the inviter's display name
	Date    time.Time // the date the message names
	Site    string    // the site's name
	What    string    // which kind of link ("confirmation", "password reset")
	Reason  string    // a staff member's reason
	Domain  string    // a blocked domain
}

func (e *Error) Error() string { return "models: " + e.Code }

// Is reports whether target is an Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// With returns a copy of e that carries facts f.
func (e *Error) With(f Facts) *Error {
	c := *e
	c.Facts = f
	return &c
}

// Text is e's message with its facts filled in; facts the error does not
// carry are taken from more (what the caller knows of the case).
func (e *Error) Text(more Facts) string {
	f := e.Facts
	if f.Email == "" {
		f.Email = more.Email
	}
	if f.Inviter == "" {
		f.Inviter = more.Inviter
	}
	if f.Date.IsZero() {
		f.Date = more.Date
	}
	if f.Site == "" {
		f.Site = more.Site
	}
	if f.What == "" {
		f.What = more.What
	}
	if f.Reason == "" {
		f.Reason = more.Reason
	}
	if f.Domain == "" {
		f.Domain = more.Domain
	}
	if !strings.Contains(e.Message, "{") {
		return e.Message
	}
	return strings.NewReplacer(
		"{email}", f.Email, "{inviter}", f.Inviter, "{date}", FormatDate(f.Date), "{site}", f.Site,
		"{what}", f.What, "{reason}", f.Reason, "{domain}", f.Domain,
	).Replace(e.Message)
}

// FormatDate is how pages, emails and messages write a date: "2 Jan 2006".
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

// AsError returns the Error in err's chain, if there is one.
func AsError(err error) (*Error, bool) {
	// A RateLimitError unwraps to ErrRateLimited, so it is looked for first:
	// its reason and wait are the facts.
	var rl *RateLimitError
	if errors.As(err, &rl) {
		e := ErrRateLimited.With(Facts{Reason: rl.Reason})
		e.RetryAfter = rl.RetryAfter
		return e, true
	}
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// declared lists every Error declared in this package, in order, so that
// the API's description can be checked against it. It is appended to only
// while the package's variables are initialised, by declare.
var declared []*Error

func declare(e *Error) *Error {
	declared = append(declared, e)
	return e
}

// DeclaredErrors returns every Error the models declare.
func DeclaredErrors() []*Error { return append([]*Error(nil), declared...) }

// The errors of the models, one line each. Any other error from this
// package is an internal one, which no user ever sees.
var (
	ErrNoRecord           = declare(&Error{Code: "not_found", Kind: KindNotFound, Title: "Not found", Message: "There is nothing at this address."})
	ErrDuplicateEmail     = declare(&Error{Code: "email_taken", Kind: KindInvalid, Field: "email", Title: "Address in use", Message: "An account with this email address already exists."})
	ErrDuplicateUsername  = declare(&Error{Code: "username_taken", Kind: KindInvalid, Field: "username", Title: "Username taken", Message: "That username is taken."})
	ErrInvalidCredentials = declare(&Error{Code: "invalid_credentials", Kind: KindInvalid, Title: "Not signed in", Message: "That email or username and password do not match an account."})
	ErrSetupDone          = declare(&Error{Code: "setup_done", Kind: KindNotFound, Title: "Not found", Message: "There is nothing at this address."})

	// Invitations.
	ErrAlreadyMember  = declare(&Error{Code: "already_member", Kind: KindInvalid, Field: "email", Title: "Not sent", Message: "{email} is already a member."})
	ErrAlreadyInvited = declare(&Error{Code: "already_invited", Kind: KindInvalid, Field: "email", Title: "Not sent", Message: "You have already invited {email}."})
	ErrNoInvitesLeft  = declare(&Error{Code: "no_invitations_left", Kind: KindInvalid, Field: "email", Title: "Not sent", Message: "You have no invitations left."})
	ErrNotVerified    = declare(&Error{Code: "email_not_verified", Kind: KindForbidden, Title: "Confirm your email first", Message: "Confirm your email address before sending invitations."})
	// ErrTokensNeedVerified shares ErrNotVerified's code (an API client sees
	// the same email_not_verified) with a message about tokens.
	ErrTokensNeedVerified = declare(&Error{Code: "email_not_verified", Kind: KindForbidden, Title: "Confirm your email first",
		Message: "Confirm your email address before creating API tokens: a token acts as you, so only an account whose address is proven may have one."})
	ErrNotPending  = declare(&Error{Code: "not_pending", Kind: KindConflict, Title: "Not done", Message: "This invitation is no longer pending."})
	ErrRateLimited = declare(&Error{Code: "rate_limited", Kind: KindRateLimited, Title: "Slow down", Message: "{reason}"})

	// Requests for an invitation (SPEC 12).
	ErrAlreadyAsked    = declare(&Error{Code: "already_requested", Kind: KindInvalid, Field: "email", Title: "Already asked", Message: "You have already asked; we will email you."})
	ErrRequestAnswered = declare(&Error{Code: "request_answered", Kind: KindConflict, Title: "Already answered", Message: "This request was already approved or declined."})

	// Links: email confirmation, password reset, invitations.
	ErrTokenUnknown       = declare(&Error{Code: "unknown_link", Kind: KindNotFound, Title: "Unknown link", Message: "This {what} link is not valid. Check that you copied all of it."})
	ErrTokenExpired       = declare(&Error{Code: "link_expired", Kind: KindGone, Title: "Link expired", Message: "This {what} link has expired. Ask for a new one."})
	ErrTokenUsed          = declare(&Error{Code: "link_used", Kind: KindGone, Title: "Link already used", Message: "This {what} link was already used."})
	ErrInvitationExpired  = declare(&Error{Code: "invitation_expired", Kind: KindGone, Title: "Invitation expired", Message: "This invitation expired on {date}. Ask {inviter} for a new one."})
	ErrInvitationRevoked  = declare(&Error{Code: "invitation_revoked", Kind: KindGone, Title: "Invitation withdrawn", Message: "{inviter} withdrew this invitation. Ask them if you think this is a mistake."})
	ErrInvitationReplaced = declare(&Error{Code: "invitation_replaced", Kind: KindGone, Title: "Link replaced", Message: "A newer email from {inviter} replaced this link. Use the link in the most recent invitation email."})
	ErrInvitationUsed     = declare(&Error{Code: "invitation_used", Kind: KindGone, Title: "Invitation already used", Message: "This invitation has already been used to join. If it was you, sign in."})
	ErrInvitationDeclined = declare(&Error{Code: "invitation_declined", Kind: KindGone, Title: "Invitation declined", Message: "This invitation was declined."})

	// Section 11's site switches and refusals of an invitation.
	ErrJoiningPaused = declare(&Error{Code: "joining_paused", Kind: KindForbidden, Title: "Joining is paused", Message: "Joining {site} is paused for now; your invitation will work again when it reopens."})
	ErrDomainBlocked = declare(&Error{Code: "domain_blocked", Kind: KindInvalid, Field: "email", Title: "Not allowed", Message: "Invitations to {domain} addresses are not allowed."})
	ErrOptedOut      = declare(&Error{Code: "opted_out", Kind: KindInvalid, Field: "email", Title: "Not sent", Message: "{email} has asked not to receive invitations."})
	ErrTooNew        = declare(&Error{Code: "too_new", Kind: KindForbidden, Title: "Not yet", Message: "You can invite friends from {date}."})

	// Section 11's suspension and inviting off.
	ErrSuspended        = declare(&Error{Code: "account_suspended", Kind: KindForbidden, Title: "Account suspended", Message: "This account is suspended."})
	ErrInvitingDisabled = declare(&Error{Code: "inviting_disabled", Kind: KindForbidden, Title: "Inviting is off", Message: "Inviting is turned off for your account: {reason}"})
	ErrSelfModeration   = declare(&Error{Code: "self_moderation", Kind: KindInvalid, Title: "Not done", Message: "You cannot do this to your own account."})

	// Idempotency keys of staff changes (Staff.Keyed).
	ErrBadIdempotencyKey = declare(&Error{Code: "invalid_idempotency_key", Kind: KindInvalid, Title: "Not done",
		Message: "An idempotency key is 1 to 255 visible ASCII characters."})
	ErrIdempotencyKeyReused = declare(&Error{Code: "idempotency_key_reused", Kind: KindInvalid, Title: "Not done",
		Message: "This change was already made with other values under the same key. Reload the page (or send a new Idempotency-Key) to make another."})
)

// RateLimitError says an action was refused because a limit was reached, and
// when it may be tried again. It reads as ErrRateLimited with its Reason.
type RateLimitError struct {
	Reason     string // a sentence for the user
	RetryAfter int    // seconds
}

func (e *RateLimitError) Error() string { return "models: rate limited: " + e.Reason }

// Unwrap makes a RateLimitError match ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
