package models

import "errors"

// Sentinel errors. Handlers map them to a status and a message next to the
// field concerned; any other error from this package is an internal error.
var (
	ErrNoRecord           = errors.New("models: no matching record")
	ErrDuplicateEmail     = errors.New("models: email already in use")
	ErrDuplicateUsername  = errors.New("models: username already taken")
	ErrInvalidCredentials = errors.New("models: invalid credentials")
	ErrTokenUnknown       = errors.New("models: unknown token")
	ErrTokenExpired       = errors.New("models: token expired")
	ErrTokenUsed          = errors.New("models: token already used")
	ErrAlreadyMember      = errors.New("models: address belongs to a member")
	ErrAlreadyInvited     = errors.New("models: pending invitation to this address exists")
	ErrNoInvitesLeft      = errors.New("models: no invitations left")
	ErrNotVerified        = errors.New("models: email address not verified")
	ErrNotPending         = errors.New("models: invitation is not pending")
	ErrSetupDone          = errors.New("models: a user already exists")

	// Why an invitation link no longer works.
	ErrInvitationExpired  = errors.New("models: invitation expired")
	ErrInvitationRevoked  = errors.New("models: invitation revoked")
	ErrInvitationReplaced = errors.New("models: invitation link replaced by a newer one")
	ErrInvitationUsed     = errors.New("models: invitation already used")
)

// RateLimitError says an action was refused because a limit was reached, and
// when it may be tried again.
type RateLimitError struct {
	Reason     string // a sentence for the user
	RetryAfter int    // seconds
}

func (e *RateLimitError) Error() string { return "models: rate limited: " + e.Reason }
