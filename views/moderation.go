package views

import "fmt"

// SiteSettingsForm is the site switches form of /staff/settings.
type SiteSettingsForm struct {
	JoiningPaused  bool
	BlockedDomains string // as typed, one a line
	Errors         FieldErrors
	Pending        int // pending invitations, for the expire-all form
}

// ExpireAllQuestion is what the expire-all confirmation asks.
func ExpireAllQuestion(pending int) string {
	return fmt.Sprintf("Expire all %s now and give each back to its sender? Their links stop working.",
		Plural(pending, "pending invitation", "pending invitations"))
}
