package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
)

// An invitation whose recipient the SMTP server refuses (550), sent through
// the real SMTP client: the sent list says to check the address, the API
// reads delivery "bounced" and status "revoked", and the invitation is back.
func TestBouncedInvitationThroughTheRouter(t *testing.T) {
	app := newTestApp(t)
	smtpd := mailtest.NewServer(t)
	smtpd.Refuse("gone@example.com", 550)
	sender, err := mail.NewSMTPSender(smtpd.URL(), "no-reply@beckon.test")
	if err != nil {
		t.Fatal(err)
	}
	app.deliverer = mail.NewDeliverer(app.store.Outbox, sender, slog.New(slog.NewTextHandler(io.Discard, nil)),
		mail.DelivererOptions{Now: app.clock.Now})
	ann, annUser := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("gone@example.com", "")), http.StatusSeeOther)
	if n, err := app.deliverer.DeliverDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("delivered %d, %v; want the one email refused", n, err)
	}
	// The inviter is told by email too, once.
	if n, err := app.deliverer.DeliverDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v; want ann's email about the bounce", n, err)
	}
	if notice := smtpd.WaitFor(t, 1, 5*time.Second)[0]; !strings.EqualFold(notice.To[0], "ann@example.com") ||
		notice.Subject != "Your invitation to gone@example.com could not be delivered" || !strings.Contains(notice.Text, "check the address") {
		t.Errorf("ann's email: to %v, subject %q:\n%s", notice.To, notice.Subject, notice.Text)
	}
	expect(t, "sent list", ann.get("/invitations"), http.StatusOK, "bounced: check the address", `data-status="revoked"`)
	inv := latestInvitation(t, app, annUser.ID)
	status, body, _ := app.apiCall(t, "GET", fmt.Sprintf("/api/v1/invitations/%d", inv.ID), app.tokenFor(t, annUser), nil)
	if status != http.StatusOK || body["delivery"] != models.DeliveryBounced || body["status"] != models.StatusRevoked {
		t.Errorf("API: %d %v; want delivery bounced, status revoked", status, body)
	}
	if a, _ := app.store.Users.Allocation(context.Background(), annUser.ID); a.Held != 0 {
		t.Errorf("held %d; want the invitation given back", a.Held)
	}
	// The address can be invited again once corrected (or retried).
	smtpd.Refuse("gone@example.com", 0)
	app.clock.Advance(time.Minute)
	expect(t, "invite again", ann.post("/invitations", invite("gone@example.com", "")), http.StatusSeeOther)
	if n, _ := app.deliverer.DeliverDue(context.Background()); n != 1 || !strings.EqualFold(smtpd.WaitFor(t, 2, 5*time.Second)[1].To[0], "gone@example.com") {
		t.Errorf("the second invitation was not delivered")
	}
}
