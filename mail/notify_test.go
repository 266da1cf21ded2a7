package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
)

func subjectsTo(msgs []mailtest.Received, addr string) []string {
	var out []string
	for _, m := range msgs {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) {
			out = append(out, m.Subject)
		}
	}
	return out
}

// A worker dies in the middle of a batch that holds the inviter's email
// about a join, before it got to that email: the restarted worker sends it
// once, and nothing after (a second join, deliveries, sweeps) sends another.
func TestJoinEmailOnceAcrossACrash(t *testing.T) {
	f, smtpd, sender := smtpFixture(t)
	ctx := context.Background()
	alice := f.inviter(t, "alice", 5)
	f.invite(t, alice, "bob@example.com")
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v", n, err)
	}
	bobLink := tokensTo(smtpd.WaitFor(t, 1, 5*time.Second), "bob@example.com")[0]
	f.invite(t, alice, "cat@example.com") // queued before the join: first in the batch
	if _, _, err := f.store.Invitations.Join(ctx, bobLink, models.NewUser{Email: "bob@example.com", Username: "bob",
		Name: "Bob Brown", Password: "password123"}); err != nil {
		t.Fatal(err)
	}

	// The worker claims both, sends cat's invitation and dies.
	due, err := f.store.Outbox.Due(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	minted, err := f.store.Outbox.MintTokens(ctx, due)
	if err != nil || len(minted) != 2 || minted[0].Email.To != "cat@example.com" {
		t.Fatalf("minted %d, %v; want cat's invitation, then alice's email", len(minted), err)
	}
	m := minted[0]
	fill := func(s string) string { return strings.ReplaceAll(s, mail.TokenPlaceholder, m.Token) }
	if err := sender.Send(ctx, mail.Message{To: m.Email.To, Subject: m.Email.Subject, Text: fill(m.Email.Text), HTML: fill(m.Email.HTML)}); err != nil {
		t.Fatal(err)
	}

	// Restarted on the same database.
	if n, _ := f.store.Outbox.ReleaseClaims(ctx); n != 2 {
		t.Fatalf("released %d claims; want 2", n)
	}
	again := mail.NewDeliverer(f.store.Outbox, sender, slog.New(slog.NewTextHandler(f.logs, nil)), mail.DelivererOptions{Now: f.clock})
	if n, err := again.DeliverDue(ctx); err != nil || n != 2 {
		t.Fatalf("after the restart: sent %d, %v; want 2", n, err)
	}
	if _, _, err := f.store.Invitations.Join(ctx, bobLink, models.NewUser{Email: "bob@example.com", Username: "bob2",
		Password: "password123"}); !errors.Is(err, models.ErrInvitationUsed) {
		t.Errorf("second join through the link: %v; want used", err)
	}
	for i := 0; i < 3; i++ {
		f.advance(models.ClaimLease + time.Hour)
		f.store.Invitations.ExpireDue(ctx)
		f.store.Invitations.RemindDue(ctx)
		again.DeliverDue(ctx)
	}
	msgs := smtpd.WaitFor(t, 4, 5*time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := subjectsTo(smtpd.Messages(), "alice@example.com"); len(got) != 1 || got[0] != "Bob Brown joined Beckon" {
		t.Errorf("emails to alice: %q; want one \"Bob Brown joined Beckon\"", got)
	}
	if links := tokensTo(msgs, "cat@example.com"); len(links) != 2 {
		t.Errorf("cat got %d emails; want 2 (the one sent before the crash, again after)", len(links))
	}
}

func TestNotificationEmails(t *testing.T) {
	c := mail.Composer{SiteName: "Beckon", BaseURL: "https://beckon.example/"}
	ann := models.User{Email: "ann@example.com", Username: "ann", Name: "Ann Smith"}
	inv := models.Invitation{Email: "Bea@Example.com", Note: "Chess on <b>Tuesdays</b>?",
		ExpiresAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}

	r := c.InvitationReminder(inv, ann)
	if r.To != "Bea@Example.com" || r.Subject != "Reminder: Ann Smith invited you to join Beckon" {
		t.Errorf("reminder to %q, subject %q", r.To, r.Subject)
	}
	for _, part := range []struct{ name, body string }{{"text", r.Text}, {"HTML", r.HTML}} {
		for _, want := range []string{"(@ann)", "https://beckon.example/join/" + mail.TokenPlaceholder,
			"https://beckon.example/optout/" + mail.TokenPlaceholder, "Tuesday 1 December 2026 at 09:30 UTC"} {
			if !strings.Contains(part.body, want) {
				t.Errorf("reminder %s lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if !strings.Contains(r.HTML, "Chess on &lt;b&gt;Tuesdays&lt;/b&gt;?") {
		t.Errorf("reminder HTML does not escape the note:\n%s", r.HTML)
	}

	j := c.InviteeJoined(ann, models.User{Username: "bob", Name: "Bob <Brown>"})
	if j.To != "ann@example.com" || j.Subject != "Bob <Brown> joined Beckon" || strings.Contains(j.Text+j.HTML, mail.TokenPlaceholder) {
		t.Errorf("join email to %q, subject %q", j.To, j.Subject)
	}
	if !strings.Contains(j.Text, "https://beckon.example/u/bob") || !strings.Contains(j.HTML, "https://beckon.example/u/bob") ||
		!strings.Contains(j.HTML, "Bob &lt;Brown&gt;") {
		t.Errorf("join email:\n%s\n%s", j.Text, j.HTML)
	}
	if plain := c.InviteeJoined(ann, models.User{Username: "bob"}); plain.Subject != "bob joined Beckon" {
		t.Errorf("subject without a name %q", plain.Subject)
	}

	b := c.InvitationBounced(inv, ann)
	if b.To != "ann@example.com" || b.Subject != "Your invitation to Bea@Example.com could not be delivered" ||
		!strings.Contains(b.Text, "check the address") || !strings.Contains(b.HTML, "check the address") ||
		strings.Contains(b.Text+b.HTML, mail.TokenPlaceholder) {
		t.Errorf("bounce email to %q, subject %q:\n%s", b.To, b.Subject, b.Text)
	}
}
