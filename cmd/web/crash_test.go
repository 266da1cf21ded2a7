package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// The real binary, killed with SIGKILL while members send invitations and
// the worker is mid-batch, then started again: every invitation that was
// answered 200 is in the database, every email goes out, every link that
// was delivered (before or after the crash) opens its page, and the
// allocations agree with the invitations.
func TestKilledServerKeepsEveryInvitationAndLink(t *testing.T) {
	testdb.SQLiteOnly(t, "kills the server over a SQLite file and reads the file")
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "beckon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	smtpd := mailtest.NewServer(t)
	// A slow server, so that the kill lands while a batch is being sent.
	smtpd.SetDelay(100 * time.Millisecond)
	dbPath := filepath.Join(dir, "beckon.db")
	env := []string{"BECKON_DB=" + dbPath, "BECKON_ADDR=127.0.0.1:0", "BECKON_BASE_URL=http://beckon.test",
		"BECKON_SMTP_URL=" + smtpd.URL(), "BECKON_INVITE_RATE=0", "BECKON_RECIPIENT_RATE=0", "BECKON_JOIN_RATE=0"}
	command := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("beckon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	inviters := []string{"admin", "ann", "ben"}
	for i, name := range inviters {
		args := []string{"createuser", "--email", name + "@example.com", "--username", name}
		if i == 0 {
			args = append(args, "--staff")
		}
		command("a long password\n", args...)
	}
	command("", "add-invites", "1000")

	srv := startServer(ctx, t, bin, env)
	var answered sync.Map // email -> true, for every invitation answered 200
	var ok atomic.Int64
	var wg sync.WaitGroup
	for k, name := range inviters {
		client := signIn(t, srv.url, name)
		wg.Go(func() {
			// Paced, so that the load is still coming when the kill lands.
			for i := 0; ; i++ {
				time.Sleep(20 * time.Millisecond)
				email := fmt.Sprintf("guest%d-%d@example.com", k, i)
				form := url.Values{"email": {email}, "note": {"come along"}}
				req, _ := http.NewRequest(http.MethodPost, srv.url+"/invitations", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("HX-Request", "true")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					answered.Store(email, true)
					ok.Add(1)
				} else {
					t.Errorf("POST /invitations %s: %d", email, resp.StatusCode)
					return
				}
			}
		})
	}
	// Kill just after the SMTP server took an email, before it answers: the
	// worker is mid-batch, with an email delivered but not recorded.
	for deadline := time.Now().Add(30 * time.Second); ok.Load() < 100 || len(smtpd.Messages()) < 20; {
		if time.Now().After(deadline) {
			t.Fatalf("no load: %d invitations, %d emails\n%s", ok.Load(), len(smtpd.Messages()), srv.stderr.String())
		}
		time.Sleep(time.Millisecond)
	}
	srv.kill(t)
	wg.Wait()
	beforeRestart := len(smtpd.Messages())
	smtpd.SetDelay(0)

	db, err := models.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var claimed, queued int
	db.QueryRow(`SELECT count(*) FILTER (WHERE claimed_at IS NOT NULL), count(*) FROM outbox WHERE status = 'queued'`).Scan(&claimed, &queued)
	t.Logf("killed after %d invitations answered and %d emails received; %d emails queued, %d of them claimed",
		ok.Load(), beforeRestart, queued, claimed)

	srv = startServer(ctx, t, bin, env)
	defer srv.stop(t)
	for deadline := time.Now().Add(30 * time.Second); ; {
		var left int
		if err := db.QueryRow(`SELECT count(*) FROM outbox WHERE status <> 'sent'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emails still unsent after the restart\n%s", left, srv.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Every invitation answered 200 is there, and every invitation there
	// was mailed.
	stored := map[string]bool{}
	rows, err := db.Query(`SELECT email FROM invitations`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var email string
		rows.Scan(&email)
		stored[email] = true
	}
	rows.Close()
	answered.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			t.Errorf("invitation to %s was answered 200 but is not in the database", k)
		}
		return true
	})
	msgs := smtpd.Messages()
	mailed := map[string][]string{}
	joinToken := regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})\b`)
	for _, m := range msgs {
		if tok := joinToken.FindStringSubmatch(m.Text); tok != nil && len(m.To) == 1 {
			mailed[m.To[0]] = append(mailed[m.To[0]], tok[1])
		}
	}
	for email := range stored {
		if len(mailed[email]) == 0 {
			t.Errorf("the invitation to %s was never mailed", email)
		}
	}
	// No delivered link is broken, whichever run sent it.
	again := 0
	for email, tokens := range mailed {
		if len(tokens) > 1 {
			again++
		}
		for _, tok := range tokens {
			resp, err := http.Get(srv.url + "/join/" + tok)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("a link mailed to %s answers %d", email, resp.StatusCode)
			}
		}
	}
	t.Logf("%d invitations, %d emails, %d invitations mailed more than once", len(stored), len(msgs), again)
	if again == 0 {
		t.Error("no email was delivered twice: the kill missed the moment between sending and recording")
	}
	// held is every inviter's pending and accepted invitations.
	rows, err = db.Query(`SELECT a.user_id, a.held, (SELECT count(*) FROM invitations i
		WHERE i.inviter_id = a.user_id AND i.status IN ('pending', 'accepted')) FROM allocations a`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, held, counted int
		rows.Scan(&id, &held, &counted)
		if held != counted {
			t.Errorf("user %d holds %d invitations; %d are pending or accepted", id, held, counted)
		}
	}
}

// server is a running beckon serve.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan error
}

// startServer runs bin serve under env and waits until it listens.
func startServer(ctx context.Context, t *testing.T, bin string, env []string) *server {
	t.Helper()
	s := &server{cmd: exec.CommandContext(ctx, bin, "serve"), stderr: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = env, io.Discard, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if m := addrRE.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = "http://" + m[1]
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("beckon serve exited: %v\n%s", err, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			t.Fatalf("beckon serve did not start:\n%s", s.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL: no shutdown, no draining.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// stop ends the server gracefully.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("beckon serve did not stop:\n%s", s.stderr.String())
	}
}

// signIn returns a client with a session of username (password "a long
// password"). Plain Go clients send no Origin, which the CSRF check allows.
func signIn(t *testing.T, base, username string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"login": {username}, "password": {"a long password"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d\n%s", username, resp.StatusCode, body)
	}
	return client
}

// A panic in the expiry sweep is logged and the sweep runs again.
func TestExpirySweepRecoversFromPanics(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	done := make(chan struct{})
	go func() {
		sweepExpired(ctx, func(context.Context) (int, error) {
			if calls.Add(1) == 1 {
				panic("boom in the sweep")
			}
			return 0, nil
		}, logger, 5*time.Millisecond)
		close(done)
	}()
	for deadline := time.Now().Add(5 * time.Second); calls.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep ran %d times after a panic", calls.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), "expiry sweep panicked") || !strings.Contains(logs.String(), "boom in the sweep") {
		t.Errorf("the panic was not logged:\n%s", logs.String())
	}
}
