package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/views"
)

var (
	anyLink = regexp.MustCompile(`http://beckon\.test/[a-z/-]+/([A-Za-z0-9_-]{43})\b`)
)

// smtpFixture is a fixture that sends through the real SMTP client to an
// in-process server.
func smtpFixture(t *testing.T) (*fixture, *mailtest.Server, *mail.SMTPSender) {
	t.Helper()
	smtpd := mailtest.NewServer(t)
	sender, err := mail.NewSMTPSender(smtpd.URL(), "Beckon <no-reply@beckon.test>")
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, sender), smtpd, sender
}

// inviter makes a verified member with n invitations.
func (f *fixture) inviter(t *testing.T, username string, n int) models.User {
	t.Helper()
	ctx := context.Background()
	u, err := f.store.Users.Create(ctx, models.NewUser{Email: username + "@example.com", Username: username,
		Password: "password123", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Staff.AddToUser(ctx, 0, u.ID, n); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) invite(t *testing.T, from models.User, email string) models.Invitation {
	t.Helper()
	inv, _, err := f.store.Invitations.Create(context.Background(), from.ID, email, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (f *fixture) outboxStatus(t *testing.T) map[string]int {
	t.Helper()
	rows, err := f.store.DB.Query(`SELECT status, count(*) FROM outbox GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// tokensTo returns the tokens of the links mailed to addr, in order.
func tokensTo(msgs []mailtest.Received, addr string) []string {
	var out []string
	for _, m := range msgs {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) {
			if l := anyLink.FindStringSubmatch(m.Text); l != nil {
				out = append(out, l[1])
			}
		}
	}
	return out
}

// An SMTP server down for six hours: every email still goes out once it is
// back, and its link works.
func TestEmailSurvivesAnOutageLongerThanAnHour(t *testing.T) {
	f, smtpd, _ := smtpFixture(t)
	ctx := context.Background()
	smtpd.Stop()
	alice := f.inviter(t, "alice", 5)
	invs := []models.Invitation{f.invite(t, alice, "b@example.com"), f.invite(t, alice, "c@example.com")}
	if _, err := f.store.Users.Create(ctx, models.NewUser{Email: "new@example.com", Username: "newbie", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	start := f.clock()
	for f.clock().Sub(start) < 6*time.Hour {
		if n, _ := f.deliverer.DeliverDue(ctx); n != 0 {
			t.Fatalf("sent %d while the server was down", n)
		}
		f.advance(5 * time.Minute)
	}
	if st := f.outboxStatus(t); st[models.DeliveryQueued] != 3 {
		t.Fatalf("after six hours down: %v; want all 3 still queued", st)
	}
	smtpd.Start()
	sent := 0
	for i := 0; sent < 3 && i < 30; i++ { // the backoff is at most an hour
		n, err := f.deliverer.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
		f.advance(5 * time.Minute)
	}
	if sent != 3 {
		t.Fatalf("sent %d after the outage; want 3", sent)
	}
	msgs := smtpd.WaitFor(t, 3, 5*time.Second)
	for _, inv := range invs {
		tokens := tokensTo(msgs, inv.Email)
		if len(tokens) != 1 {
			t.Fatalf("%d emails to %s; want 1", len(tokens), inv.Email)
		}
		if _, err := f.store.Invitations.LookupToken(ctx, tokens[0]); err != nil {
			t.Errorf("the link to %s: %v", inv.Email, err)
		}
		got, _ := f.store.Invitations.Get(ctx, inv.ID)
		if got.Delivery != models.DeliverySent {
			t.Errorf("delivery of %s: %s; want sent", inv.Email, got.Delivery)
		}
	}
	if tokens := tokensTo(msgs, "new@example.com"); len(tokens) != 1 {
		t.Errorf("confirmation emails: %d; want 1", len(tokens))
	} else if _, err := f.store.Users.ConfirmEmail(ctx, tokens[0]); err != nil {
		t.Errorf("the confirmation link: %v", err)
	}
}

// An outage longer than the retry period ends "failed", with the invitation
// still pending (so it can be resent), and not before the period is over.
func TestEmailFailsOnlyAfterTheRetryPeriod(t *testing.T) {
	f, smtpd, _ := smtpFixture(t)
	ctx := context.Background()
	smtpd.Stop()
	alice := f.inviter(t, "alice", 5)
	inv := f.invite(t, alice, "b@example.com")
	start := f.clock()
	for f.clock().Sub(start) < 23*time.Hour+50*time.Minute {
		f.deliverer.DeliverDue(ctx)
		f.advance(10 * time.Minute)
	}
	if got, _ := f.store.Invitations.Get(ctx, inv.ID); got.Delivery != models.DeliveryQueued {
		t.Fatalf("after almost 24 hours: delivery %s; want still queued", got.Delivery)
	}
	for f.clock().Sub(start) < 26*time.Hour {
		f.deliverer.DeliverDue(ctx)
		f.advance(10 * time.Minute)
	}
	got, _ := f.store.Invitations.Get(ctx, inv.ID)
	if got.Delivery != models.DeliveryFailed || got.Status != models.StatusPending {
		t.Fatalf("after 26 hours: delivery %s, status %s; want failed, pending", got.Delivery, got.Status)
	}
	if !strings.Contains(f.logs.String(), "giving up") {
		t.Errorf("no log of giving up:\n%s", f.logs.String())
	}
	// Given up for good: the server coming back sends nothing by itself.
	smtpd.Start()
	f.advance(2 * time.Hour)
	if n, _ := f.deliverer.DeliverDue(ctx); n != 0 {
		t.Errorf("a failed email was sent again (%d)", n)
	}
	var buf bytes.Buffer
	if err := views.InvitationRow(got, time.Time{}).Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "email failed") || !strings.Contains(buf.String(), `data-testid="resend"`) {
		t.Errorf("the sent list's row lacks the failure or the resend button:\n%s", buf.String())
	}
}

// A 5xx answer to RCPT TO bounces the invitation at once: revoked, given
// back, invite_bounced recorded, and the sent list says to check the address.
func TestRefusedRecipientBouncesTheInvitation(t *testing.T) {
	f, smtpd, _ := smtpFixture(t)
	ctx := context.Background()
	smtpd.Refuse("gone@example.com", 550)
	alice := f.inviter(t, "alice", 5)
	gone := f.invite(t, alice, "Gone@Example.com")
	here := f.invite(t, alice, "here@example.com")
	var events []models.Event
	var mu sync.Mutex
	defer f.store.Events.Subscribe(func(ev models.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() })()

	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v; want 1", n, err)
	}
	got, err := f.store.Invitations.Get(ctx, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Delivery != models.DeliveryBounced || got.Status != models.StatusRevoked || got.RevokedAt.IsZero() {
		t.Errorf("refused invitation: delivery %s, status %s; want bounced, revoked", got.Delivery, got.Status)
	}
	if other, _ := f.store.Invitations.Get(ctx, here.ID); other.Delivery != models.DeliverySent || other.Status != models.StatusPending {
		t.Errorf("the other invitation: delivery %s, status %s; want sent, pending", other.Delivery, other.Status)
	}
	a, _ := f.store.Users.Allocation(ctx, alice.ID)
	if a.Held != 1 {
		t.Errorf("held %d after the bounce; want 1 (the invitation given back)", a.Held)
	}
	var recorded int
	f.store.DB.QueryRow(`SELECT count(*) FROM events WHERE kind = ? AND subject_id = ?`, models.EventInviteBounced, gone.ID).Scan(&recorded)
	if recorded != 1 {
		t.Errorf("%d invite_bounced events recorded; want 1", recorded)
	}
	mu.Lock()
	if len(events) != 1 || events[0].Kind != models.EventInviteBounced || events[0].Invitation.ID != gone.ID {
		t.Errorf("published %+v; want one invite_bounced", events)
	}
	mu.Unlock()
	// Never retried; alice is emailed about it, once (queued with the bounce).
	f.advance(3 * time.Hour)
	if n, _ := f.deliverer.DeliverDue(ctx); n != 1 || len(smtpd.Messages()) != 2 {
		t.Fatalf("delivered %d, %d messages in all; want alice's email about the bounce alone", n, len(smtpd.Messages()))
	}
	notice := smtpd.Messages()[1]
	if len(notice.To) != 1 || notice.To[0] != "alice@example.com" || notice.Subject != "Your invitation to Gone@Example.com could not be delivered" ||
		!strings.Contains(notice.Text, "check the address") || !strings.Contains(notice.HTML, "check the address") {
		t.Errorf("the inviter's email: to %v, subject %q:\n%s", notice.To, notice.Subject, notice.Text)
	}
	f.advance(3 * time.Hour)
	if n, _ := f.deliverer.DeliverDue(ctx); n != 0 || len(smtpd.Messages()) != 2 {
		t.Errorf("a bounced email, or the inviter's email about it, was sent again")
	}
	list, _, err := f.store.Invitations.List(ctx, models.ListFilter{InviterID: alice.ID, Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range list {
		var buf bytes.Buffer
		if err := views.InvitationRow(inv, time.Time{}).Render(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		says := strings.Contains(buf.String(), "bounced: check the address")
		if says != (inv.ID == gone.ID) {
			t.Errorf("row of %s says bounced: %v\n%s", inv.Email, says, buf.String())
		}
	}
}

// A 4xx answer to RCPT TO is temporary: retried, and delivered later.
func TestTemporaryRefusalKeepsRetrying(t *testing.T) {
	f, smtpd, _ := smtpFixture(t)
	ctx := context.Background()
	smtpd.Refuse("busy@example.com", 450)
	alice := f.inviter(t, "alice", 5)
	inv := f.invite(t, alice, "busy@example.com")
	if n, _ := f.deliverer.DeliverDue(ctx); n != 0 {
		t.Fatal("sent despite the refusal")
	}
	if got, _ := f.store.Invitations.Get(ctx, inv.ID); got.Delivery != models.DeliveryQueued || got.Status != models.StatusPending {
		t.Fatalf("after a 450: delivery %s, status %s; want queued, pending", got.Delivery, got.Status)
	}
	smtpd.Refuse("busy@example.com", 0)
	f.advance(time.Minute)
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v; want 1", n, err)
	}
}

// crashMidBatch plays a worker that claims and mints a batch, sends it, and
// dies before recording anything. It returns the number of emails sent.
func crashMidBatch(t *testing.T, f *fixture, sender mail.Sender) int {
	t.Helper()
	ctx := context.Background()
	due, err := f.store.Outbox.Due(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	minted, err := f.store.Outbox.MintTokens(ctx, due)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range minted {
		fill := func(s string) string { return strings.ReplaceAll(s, mail.TokenPlaceholder, m.Token) }
		if err := sender.Send(ctx, mail.Message{To: m.Email.To, Subject: m.Email.Subject, Text: fill(m.Email.Text), HTML: fill(m.Email.HTML)}); err != nil {
			t.Fatal(err)
		}
	}
	return len(minted)
}

// A crash between sending and recording: the emails go out again once the
// claim runs out, and the links of both the first and the second email work
// (invitation, confirmation and reset alike).
func TestCrashMidBatchKeepsEveryDeliveredLink(t *testing.T) {
	f, smtpd, sender := smtpFixture(t)
	ctx := context.Background()
	alice := f.inviter(t, "alice", 5)
	f.invite(t, alice, "bob@example.com")
	if _, err := f.store.Users.Create(ctx, models.NewUser{Email: "carol@example.com", Username: "carol", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Users.RequestPasswordReset(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := crashMidBatch(t, f, sender); n != 3 {
		t.Fatalf("the first worker sent %d; want 3", n)
	}
	smtpd.WaitFor(t, 3, 5*time.Second)

	// The restarted worker leaves the claimed emails alone while the claim
	// lasts, then sends them again.
	logger := slog.New(slog.NewTextHandler(f.logs, nil))
	again := mail.NewDeliverer(f.store.Outbox, sender, logger, mail.DelivererOptions{Now: f.clock})
	if n, _ := again.DeliverDue(ctx); n != 0 {
		t.Fatalf("sent %d while the claim lasted", n)
	}
	f.advance(models.ClaimLease)
	if n, err := again.DeliverDue(ctx); err != nil || n != 3 {
		t.Fatalf("after the claim ran out: sent %d, %v; want 3", n, err)
	}
	msgs := smtpd.WaitFor(t, 6, 5*time.Second)
	if st := f.outboxStatus(t); st[models.DeliverySent] != 3 {
		t.Errorf("outbox %v; want 3 sent", st)
	}

	inv := tokensTo(msgs, "bob@example.com")
	confirm := tokensTo(msgs, "carol@example.com")
	reset := tokensTo(msgs, "alice@example.com")
	if len(inv) != 2 || len(confirm) != 2 || len(reset) != 2 || inv[0] == inv[1] {
		t.Fatalf("links: invitation %d, confirmation %d, reset %d; want two distinct each", len(inv), len(confirm), len(reset))
	}
	for i, tok := range inv {
		if _, err := f.store.Invitations.LookupToken(ctx, tok); err != nil {
			t.Errorf("invitation link %d: %v; want it to work", i+1, err)
		}
	}
	for i, tok := range confirm {
		if _, err := f.store.Users.CheckConfirmToken(ctx, tok); err != nil {
			t.Errorf("confirmation link %d: %v", i+1, err)
		}
	}
	for i, tok := range reset {
		if _, err := f.store.Users.CheckResetToken(ctx, tok); err != nil {
			t.Errorf("reset link %d: %v", i+1, err)
		}
	}
	// The first (older) links are used for real.
	if _, _, err := f.store.Invitations.Join(ctx, inv[0], models.NewUser{Email: "bob@example.com", Username: "bob", Password: "password123"}); err != nil {
		t.Errorf("joining through the first link: %v", err)
	}
	if _, err := f.store.Invitations.LookupToken(ctx, inv[1]); !errors.Is(err, models.ErrInvitationUsed) {
		t.Errorf("second link after the join: %v; want used", err)
	}
	if _, err := f.store.Users.ConfirmEmail(ctx, confirm[0]); err != nil {
		t.Errorf("confirming through the first link: %v", err)
	}
	if _, err := f.store.Users.ResetPassword(ctx, reset[1], "a new password"); err != nil {
		t.Errorf("resetting through the second link: %v", err)
	}
	if _, err := f.store.Users.CheckResetToken(ctx, reset[0]); !errors.Is(err, models.ErrTokenUsed) {
		t.Errorf("first reset link after the reset: %v; want used", err)
	}
}

// Only a member's resend kills the earlier links: after a crash and a second
// delivery, a resend makes both of them say "replaced".
func TestResendReplacesEveryEarlierLink(t *testing.T) {
	f, smtpd, sender := smtpFixture(t)
	ctx := context.Background()
	alice := f.inviter(t, "alice", 5)
	inv := f.invite(t, alice, "bob@example.com")
	crashMidBatch(t, f, sender)
	if n, _ := f.store.Outbox.ReleaseClaims(ctx); n != 1 {
		t.Fatalf("released %d claims; want 1", n)
	}
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d, %v; want 1", n, err)
	}
	if _, err := f.store.Invitations.Resend(ctx, alice.ID, inv.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("sent %d, %v; want 1", n, err)
	}
	tokens := tokensTo(smtpd.WaitFor(t, 3, 5*time.Second), "bob@example.com")
	if len(tokens) != 3 {
		t.Fatalf("%d links; want 3", len(tokens))
	}
	for i, tok := range tokens[:2] {
		if _, err := f.store.Invitations.LookupToken(ctx, tok); !errors.Is(err, models.ErrInvitationReplaced) {
			t.Errorf("link %d after the resend: %v; want replaced", i+1, err)
		}
	}
	if _, err := f.store.Invitations.LookupToken(ctx, tokens[2]); err != nil {
		t.Errorf("the resent link: %v", err)
	}
}

// panicky panics on its first Send, then passes on to next.
type panicky struct {
	mu    sync.Mutex
	calls int
	next  mail.Sender
}

func (p *panicky) Send(ctx context.Context, m mail.Message) error {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	p.mu.Unlock()
	if first {
		panic("boom in the SMTP library")
	}
	return p.next.Send(ctx, m)
}

// A panic while delivering is logged, the worker keeps running, and the
// email goes out on a later attempt.
func TestWorkerRecoversFromPanics(t *testing.T) {
	smtpd := mailtest.NewServer(t)
	real, err := mail.NewSMTPSender(smtpd.URL(), "no-reply@beckon.test")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, &panicky{next: real})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.deliverer.Run(ctx, 10*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	if _, err := f.store.Users.Create(ctx, models.NewUser{Email: "new@example.com", Username: "newbie", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(f.logs.String(), "panicked"); {
		if time.Now().After(deadline) {
			t.Fatalf("no panic logged:\n%s", f.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.advance(time.Minute) // the retry's backoff
	smtpd.WaitFor(t, 1, 5*time.Second)
	select {
	case <-done:
		t.Fatal("the worker stopped")
	default:
	}
}

func TestSMTPRequiresSTARTTLSAwayFromThisMachine(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"smtp://user:secret@mail.example.com:587", "mandatory"},
		{"smtp://10.0.0.5:25", "mandatory"},
		{"smtp://mail.example.com?tls=opportunistic", "opportunistic"},
		{"smtp://mail.example.com?tls=none", "none"},
		{"smtp://localhost:25", "opportunistic"},
		{"smtp://127.0.0.1:25", "opportunistic"},
		{"smtp://[::1]:25", "opportunistic"},
		{"smtp://localhost:25?tls=mandatory", "mandatory"},
		{"smtps://mail.example.com", "implicit"},
	} {
		s, err := mail.NewSMTPSender(tc.url, "no-reply@example.com")
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got := s.TLS(); got != tc.want {
			t.Errorf("%s: TLS %s; want %s", tc.url, got, tc.want)
		}
	}
	// Mandatory means mandatory: a server without STARTTLS gets nothing.
	smtpd := mailtest.NewServer(t)
	s, err := mail.NewSMTPSender("smtp://"+smtpd.Addr()+"?tls=mandatory", "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Error("sent in plaintext under tls=mandatory")
	}
	if len(smtpd.Messages()) != 0 {
		t.Error("the server received the message")
	}
}

func TestLogSenderEscapesControlCharacters(t *testing.T) {
	var out, log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	err := mail.LogSender{Logger: logger, From: "x@example.com", Out: &out}.Send(context.Background(), mail.Message{
		To:      "bob@example.com",
		Subject: "\x1b[2J\x1b[31mMallory\u202e invited you",
		Text:    "Note: \x1b]0;pwned\x07 hi\r\n\u200bsecond line\n\tindented",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u202e", "\u200b"} {
		if strings.Contains(got, bad) || strings.Contains(log.String(), bad) {
			t.Errorf("the printed copy or the log carries %q raw:\n%q", bad, got)
		}
	}
	for _, want := range []string{`\u001b[31mMallory\u202e invited you`, `\u001b]0;pwned\u0007 hi\u000d` + "\n" + `\u200bsecond line` + "\n\tindented"} {
		if !strings.Contains(got, want) {
			t.Errorf("printed copy lacks %q:\n%s", want, got)
		}
	}
}
