package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
)

func TestInvitationEmail(t *testing.T) {
	c := mail.Composer{SiteName: "Beckon", BaseURL: "https://beckon.example/"}
	expires := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	inv := models.Invitation{Email: "Bea@Example.com", Note: "Chess on <b>Tuesdays</b>?\nBring a board.", ExpiresAt: expires}

	named := c.Invitation(inv, models.User{Username: "ann", Name: "Ann Smith"})
	if named.Kind != "invitation" || named.To != "Bea@Example.com" || named.Subject != "Ann Smith invited you to join Beckon" {
		t.Errorf("kind %q, to %q, subject %q", named.Kind, named.To, named.Subject)
	}
	link := "https://beckon.example/join/" + mail.TokenPlaceholder
	optOut := "https://beckon.example/optout/" + mail.TokenPlaceholder
	for _, part := range []struct{ name, body string }{{"text", named.Text}, {"HTML", named.HTML}} {
		for _, want := range []string{"Ann Smith", "(@ann)", link, optOut, "Tuesday 1 December 2026 at 09:30 UTC"} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if !strings.Contains(named.Text, "Chess on <b>Tuesdays</b>?\nBring a board.") {
		t.Errorf("text lacks the note as written:\n%s", named.Text)
	}
	if !strings.Contains(named.HTML, "Chess on &lt;b&gt;Tuesdays&lt;/b&gt;?") || strings.Contains(named.HTML, "<b>Tuesdays") {
		t.Errorf("HTML does not escape the note:\n%s", named.HTML)
	}

	// Without a display name: the username once, not "ann (@ann)".
	plain := c.Invitation(models.Invitation{Email: "bea@example.com", ExpiresAt: expires}, models.User{Username: "ann"})
	if plain.Subject != "ann invited you to join Beckon" {
		t.Errorf("subject %q", plain.Subject)
	}
	for _, part := range []struct{ name, body string }{{"text", plain.Text}, {"HTML", plain.HTML}} {
		if !strings.Contains(part.body, "@ann") || strings.Contains(part.body, "ann (@ann)") || strings.Contains(part.body, "blockquote style") {
			t.Errorf("%s without a name or note:\n%s", part.name, part.body)
		}
	}
}

func TestRequestEmails(t *testing.T) {
	c := mail.Composer{SiteName: "Beckon", BaseURL: "https://beckon.example/"}
	confirm := c.RequestConfirmation("kim@example.com")
	link := "https://beckon.example/request/confirm/" + mail.TokenPlaceholder
	if confirm.To != "kim@example.com" || confirm.Subject != "Confirm your request to join Beckon" ||
		!strings.Contains(confirm.Text, link) || !strings.Contains(confirm.HTML, link) {
		t.Errorf("confirmation: to %q, subject %q:\n%s", confirm.To, confirm.Subject, confirm.Text)
	}
	declined := c.RequestDeclined("kim@example.com", "Full <until> spring.")
	if !strings.Contains(declined.Text, "Full <until> spring.") || !strings.Contains(declined.HTML, "Full &lt;until&gt; spring.") {
		t.Errorf("declined email lacks the reason:\n%s\n%s", declined.Text, declined.HTML)
	}
	if none := c.RequestDeclined("kim@example.com", ""); strings.Contains(none.Text, "They wrote") || strings.Contains(none.HTML, "blockquote") {
		t.Errorf("declined without a reason:\n%s", none.Text)
	}
}

// BenchmarkInvitationEmail is the email every invitation writes before its
// transaction (docs/performance.md).
func BenchmarkInvitationEmail(b *testing.B) {
	c := mail.Composer{SiteName: "Beckon", BaseURL: "https://beckon.example"}
	inv := models.Invitation{Email: "bea@example.com", Note: "Chess on Tuesdays?", ExpiresAt: time.Now()}
	ann := models.User{Username: "ann", Name: "Ann Smith"}
	b.ReportAllocs()
	for b.Loop() {
		c.Invitation(inv, ann)
	}
}

// Every email's button says what it does, not "Open the link".
func TestEmailButtonsSayWhatTheyDo(t *testing.T) {
	c := mail.Composer{SiteName: "Beckon", BaseURL: "https://beckon.example/"}
	ann := models.User{ID: 1, Username: "ann", Name: "Ann", Email: "ann@example.com"}
	bea := models.User{ID: 2, Username: "bea", Email: "bea@example.com"}
	inv := models.Invitation{Email: "bea@example.com", ExpiresAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name   string
		email  models.Email
		button string
	}{
		{"confirmation", c.Confirmation(ann), "Confirm my address"},
		{"password reset", c.PasswordReset(ann), "Choose a new password"},
		{"invitation", c.Invitation(inv, ann), "See the invitation"},
		{"reminder", c.InvitationReminder(inv, ann), "See the invitation"},
		{"invitee joined", c.InviteeJoined(ann, bea), "See their profile"},
		{"bounced", c.InvitationBounced(inv, ann), "See your invitations"},
		{"request", c.RequestConfirmation("bea@example.com"), "Confirm my request"},
	} {
		if !strings.Contains(tc.email.HTML, ">"+tc.button+"</a>") || strings.Contains(tc.email.HTML, "Open the link") {
			t.Errorf("%s: the button does not say %q:\n%s", tc.name, tc.button, tc.email.HTML)
		}
	}
}
