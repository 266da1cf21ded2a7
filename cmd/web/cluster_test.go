package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/mail/mailtest"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/pgtest"
	"github.com/beckon-app/beckon/models/testdb"
)

// clusterInvitations is how many invitations the load part sends through
// the two servers (SPEC 14's 1,000).
const clusterInvitations = 1000

// Two real `beckon serve` processes on one PostgreSQL database, with the
// requests spread across both (SPEC 14): no quota is overspent, one link
// makes one member, every email goes out exactly once, a session made on
// one works on the other, and sweeps run in both at once end each
// invitation once.
func TestTwoServersShareOnePostgresDatabase(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("PostgreSQL only: runs in the PostgreSQL run (BECKON_TEST_ENGINE=postgres)")
	}
	if testing.Short() {
		t.Skip("builds and runs the real binary twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "beckon")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbURL := pgtest.URL(t, testdb.Migrate)
	smtpd := mailtest.NewServer(t)
	env := []string{"BECKON_DB=" + dbURL, "BECKON_ADDR=127.0.0.1:0", "BECKON_BASE_URL=http://beckon.test",
		"BECKON_SMTP_URL=" + smtpd.URL(), "BECKON_INVITE_RATE=0", "BECKON_RECIPIENT_RATE=0", "BECKON_JOIN_RATE=0",
		"BECKON_DEFAULT_INVITE_ALLOCATION=1", "BECKON_SECRET=" + testSecret}
	command := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("beckon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	createUser := func(name string) {
		command("a long password\n", "createuser", "--email", name+"@example.com", "--username", name)
	}
	createUser("ann")
	createUser("ben")
	command("", "add-invites", strconv.Itoa(clusterInvitations))
	createUser("one") // after add-invites: one invitation, the default

	a, b := startServer(ctx, t, bin, env), startServer(ctx, t, bin, env)
	defer a.stop(t)
	defer b.stop(t)
	servers := []*server{a, b}

	db, err := models.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	// invite posts one invitation as client to srv and returns the status.
	invite := func(client *http.Client, srv *server, email string) int {
		form := url.Values{"email": {email}, "note": {"come along"}}
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/invitations", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("POST /invitations %s: %v", email, err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("a session made on one server works on the other", func(t *testing.T) {
		client := signIn(t, a.url, "ann") // the jar holds the cookie for 127.0.0.1, any port
		resp, err := client.Get(b.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "@ann") {
			t.Errorf("GET / on the other server: %d, signed in as ann: %v", resp.StatusCode, strings.Contains(string(body), "@ann"))
		}
	})

	t.Run("30 sends with one invitation left give one invitation", func(t *testing.T) {
		clients := []*http.Client{signIn(t, a.url, "one"), signIn(t, b.url, "one")}
		var ok, failed atomic.Int64
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() {
				switch code := invite(clients[i%2], servers[i%2], fmt.Sprintf("last%d@example.com", i)); {
				case code == http.StatusOK:
					ok.Add(1)
				case code >= 500 || code == 0:
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		stored := count(`SELECT count(*) FROM invitations i JOIN users u ON u.id = i.inviter_id WHERE u.username = 'one'`)
		held := count(`SELECT a.held FROM allocations a JOIN users u ON u.id = a.user_id WHERE u.username = 'one'`)
		if ok.Load() != 1 || stored != 1 || held != 1 || failed.Load() != 0 {
			t.Errorf("%d answered 200, %d failed, %d stored, %d held; want one of each, no failure", ok.Load(), failed.Load(), stored, held)
		}
	})

	t.Run("20 joins through one link give one member", func(t *testing.T) {
		if code := invite(signIn(t, b.url, "ben"), b, "joiner@example.com"); code != http.StatusOK {
			t.Fatalf("invite the joiner: %d", code)
		}
		var token string
		joinRE := regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})\b`)
		for deadline := time.Now().Add(30 * time.Second); token == ""; time.Sleep(20 * time.Millisecond) {
			for _, m := range smtpd.Messages() {
				if tok := joinRE.FindStringSubmatch(m.Text); tok != nil && len(m.To) == 1 && m.To[0] == "joiner@example.com" {
					token = tok[1]
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the joiner's email never came")
			}
		}
		var joined, failed atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				client := &http.Client{Timeout: 20 * time.Second,
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				resp, err := client.PostForm(servers[i%2].url+"/join/"+token, url.Values{"email": {"joiner@example.com"},
					"username": {fmt.Sprintf("joiner%d", i)}, "password": {"a long password"}})
				if err != nil {
					failed.Add(1)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusSeeOther:
					joined.Add(1)
				case resp.StatusCode >= 500:
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		members := count(`SELECT count(*) FROM users WHERE email_key = 'joiner@example.com'`)
		if joined.Load() != 1 || members != 1 || failed.Load() != 0 {
			t.Errorf("%d joins answered 303, %d failed, %d members; want one, no failure", joined.Load(), failed.Load(), members)
		}
	})

	t.Run("invitations sent through both servers are each mailed once", func(t *testing.T) {
		clients := []*http.Client{signIn(t, a.url, "ann"), signIn(t, b.url, "ann")}
		start := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range work {
					if code := invite(clients[w%2], servers[w%2], fmt.Sprintf("load%d@example.com", i)); code != http.StatusOK {
						t.Errorf("invitation %d: %d", i, code)
					}
				}
			})
		}
		for i := range clusterInvitations {
			work <- i
		}
		close(work)
		wg.Wait()
		sent := time.Since(start)
		for deadline := time.Now().Add(90 * time.Second); count(`SELECT count(*) FROM outbox WHERE status = 'queued'`) > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("emails still queued after 90 s\nA:\n%s\nB:\n%s", a.stderr.String(), b.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // a second delivery would come now
		got := map[string]int{}
		for _, m := range smtpd.Messages() {
			for _, to := range m.To {
				if strings.HasPrefix(to, "load") {
					got[to]++
				}
			}
		}
		for i := range clusterInvitations {
			if to := fmt.Sprintf("load%d@example.com", i); got[to] != 1 {
				t.Errorf("%s received %d emails; want 1", to, got[to])
			}
		}
		t.Logf("%d invitations sent in %v, all mailed after %v", clusterInvitations, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})

	t.Run("sweeps in two processes at once expire each invitation once", func(t *testing.T) {
		store := models.New(db, models.Options{Argon: models.CheapArgon,
			Composer: mail.Composer{SiteName: "Beckon", BaseURL: "http://beckon.test"}})
		defer store.Close()
		ben, err := store.Users.GetByUsername(ctx, "ben")
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		for i := range n {
			if _, _, err := store.Invitations.Create(ctx, ben.ID, fmt.Sprintf("brief%d@example.com", i), "", 2*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2500 * time.Millisecond)
		outs := make([]string, 2)
		var wg sync.WaitGroup
		for i := range outs {
			wg.Go(func() { outs[i] = command("", "sweep") })
		}
		wg.Wait()
		expiredRE := regexp.MustCompile(`expired ([\d,]+) invitation`)
		total := 0
		for _, out := range outs {
			if m := expiredRE.FindStringSubmatch(out); m != nil {
				k, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
				total += k
			}
		}
		events := count(`SELECT count(*) FROM events e JOIN invitations i ON i.id = e.subject_id
			WHERE e.kind = 'invitation_expired' AND i.email LIKE 'brief%'`)
		expired := count(`SELECT count(*) FROM invitations WHERE email LIKE 'brief%' AND status = 'expired'`)
		held := count(`SELECT held FROM allocations WHERE user_id = ?`, ben.ID)
		holding := count(`SELECT count(*) FROM invitations WHERE inviter_id = ? AND status IN ('pending', 'accepted')`, ben.ID)
		if total != n || events != n || expired != n || held != holding {
			t.Errorf("the sweeps said %d expired (%q); %d events, %d expired; ben holds %d for %d pending or accepted; want %d, each once",
				total, outs, events, expired, held, holding, n)
		}
	})
}
