package mail_test

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

type fixture struct {
	store     *models.Store
	deliverer *mail.Deliverer
	logs      *syncBuffer

	mu  sync.Mutex // the clock is read by Run's goroutine too
	now time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the fake clock of the store and the deliverer.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// syncBuffer is a strings.Builder safe to write from the worker while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFixture(t *testing.T, sender mail.Sender) *fixture {
	t.Helper()
	db := testdb.Open(t, "mail.db")
	f := &fixture{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), logs: &syncBuffer{}}
	f.store = models.New(db, models.Options{
		Now: f.clock, Argon: models.CheapArgon,
		Composer: mail.Composer{SiteName: "Beckon", BaseURL: "http://beckon.test"},
	})
	logger := slog.New(slog.NewTextHandler(f.logs, nil))
	f.deliverer = mail.NewDeliverer(f.store.Outbox, sender, logger, mail.DelivererOptions{Now: f.clock, Backoff: time.Minute})
	return f
}

var confirmLink = regexp.MustCompile(`http://beckon\.test/confirm-email/([A-Za-z0-9_-]{43})\b`)

func TestConfirmationEmailArrivesOverSMTPWithWorkingLink(t *testing.T) {
	smtpd := mailtest.NewServer(t)
	sender, err := mail.NewSMTPSender(smtpd.URL(), "Beckon <no-reply@beckon.test>")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sender)
	ctx := context.Background()
	if _, err := f.store.Users.Create(ctx, models.NewUser{Email: "New@Example.com", Username: "newbie", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d, %v; want 1", n, err)
	}
	msg := smtpd.WaitFor(t, 1, 5*time.Second)[0]
	if len(msg.To) != 1 || !strings.EqualFold(msg.To[0], "new@example.com") || msg.Subject != "Confirm your email address for Beckon" {
		t.Errorf("envelope to %v, subject %q", msg.To, msg.Subject)
	}
	m := confirmLink.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no confirmation link in the text body:\n%s", msg.Text)
	}
	if !strings.Contains(msg.HTML, m[0]) {
		t.Errorf("the HTML body lacks the same link")
	}
	u, err := f.store.Users.ConfirmEmail(ctx, m[1])
	if err != nil || !u.Verified() {
		t.Fatalf("the emailed link did not confirm: %v", err)
	}
}

func TestEmailWaitsOutAnSMTPOutage(t *testing.T) {
	smtpd := mailtest.NewServer(t)
	sender, err := mail.NewSMTPSender(smtpd.URL(), "no-reply@beckon.test")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sender)
	ctx := context.Background()
	smtpd.Stop()
	if _, err := f.store.Users.Create(ctx, models.NewUser{Email: "new@example.com", Username: "newbie", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("while down: delivered %d, %v", n, err)
	}
	var status string
	var attempts int
	f.store.DB.QueryRow(`SELECT status, attempts FROM outbox`).Scan(&status, &attempts)
	if status != models.DeliveryQueued || attempts != 1 {
		t.Fatalf("after a failed attempt: %s after %d attempts; want queued after 1", status, attempts)
	}
	// Not retried before its backoff.
	if n, _ := f.deliverer.DeliverDue(ctx); n != 0 {
		t.Fatal("retried before the backoff")
	}
	smtpd.Start()
	f.advance(time.Minute)
	if n, err := f.deliverer.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("after the outage: delivered %d, %v; want 1", n, err)
	}
	msg := smtpd.WaitFor(t, 1, 5*time.Second)[0]
	m := confirmLink.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no link in %q", msg.Text)
	}
	if _, err := f.store.Users.ConfirmEmail(ctx, m[1]); err != nil {
		t.Errorf("link from the late email: %v", err)
	}
	f.store.DB.QueryRow(`SELECT status FROM outbox`).Scan(&status)
	if status != models.DeliverySent {
		t.Errorf("status %s; want sent", status)
	}
}

func TestSMTPURLParsing(t *testing.T) {
	for _, tc := range []struct {
		url  string
		ok   bool
		want string
	}{
		{"smtp://user:secret@mail.example.com:587", true, "smtp://user@mail.example.com:587"},
		{"smtp://mail.example.com", true, "smtp://mail.example.com:587"},
		{"smtps://user:secret@mail.example.com", true, "smtps://user@mail.example.com:465"},
		{"smtp://127.0.0.1:2525?tls=none", true, "smtp://127.0.0.1:2525"},
		{"http://user:secret@mail.example.com", false, ""},
		{"smtp://user:secret@:587", false, ""},
		{"smtp://user:secret@mail.example.com:99999", false, ""},
		{"smtp://user:secret@mail.example.com?tls=maybe", false, ""},
	} {
		s, err := mail.NewSMTPSender(tc.url, "no-reply@example.com")
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v; want ok %v", tc.url, err, tc.ok)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error repeats the password: %v", tc.url, err)
		}
		if s != nil && s.String() != tc.want {
			t.Errorf("%s: String() = %q; want %q", tc.url, s.String(), tc.want)
		}
	}
	if _, err := mail.NewSMTPSender("smtp://mail.example.com", "not an address"); err == nil {
		t.Error("a bad sender address was accepted")
	}
}

func TestLogSenderWritesTheWholeEmail(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	link := "http://localhost:8080/join/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE"
	err := mail.LogSender{Logger: logger, From: "x@example.com"}.Send(context.Background(), mail.Message{
		To: "bob@example.com", Subject: "hi", Text: "open " + link})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), link) || !strings.Contains(buf.String(), "bob@example.com") {
		t.Errorf("log lacks the link or the recipient: %s", buf.String())
	}
}
