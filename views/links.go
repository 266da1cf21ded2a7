package views

import (
	"fmt"
	"strconv"

	"github.com/beckon-app/beckon/models"
)

// LinkForm is the new-link form's fields and messages, as typed.
type LinkForm struct {
	Uses      string
	ExpiresIn string
	Label     string
	Errors    FieldErrors
}

// LinksPanel is GET /links: the member, the form and their links.
type LinksPanel struct {
	User    models.User
	Form    LinkForm
	Links   []models.Link
	BaseURL string // the site's public URL, before /join/{token}
	// DefaultHours is the expiry a link gets when none is given.
	DefaultHours int
}

// LinkURL is the address to share for l, "" when it has none to show.
func (p LinksPanel) LinkURL(l models.Link) string {
	if l.Token == "" {
		return ""
	}
	return p.BaseURL + "/join/" + l.Token
}

func linkRowID(l models.Link) string { return fmt.Sprintf("link-%d", l.ID) }

func linkClosePath(l models.Link) string { return fmt.Sprintf("/links/%d/close", l.ID) }

// LinkUsesText says how many uses a link has left: "2 of 3 uses left".
func LinkUsesText(l models.Link) string {
	return strconv.Itoa(l.UsesLeft()) + " of " + Plural(l.Uses, "use", "uses") + " left"
}

// LinkStatusLabel is how a link's status reads.
func LinkStatusLabel(status string) string {
	if status == models.LinkUsed {
		return "used up"
	}
	return status
}

// linkName names a link for a screen reader's list of buttons: its label,
// or when it was made.
func linkName(l models.Link) string {
	if l.Label != "" {
		return strconv.Quote(l.Label)
	}
	return "made " + string(appendDate(nil, l.CreatedAt, dateLayout))
}
