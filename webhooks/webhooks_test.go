package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
	"github.com/beckon-app/beckon/webhooks"
)

func TestSignMatchesTheStandardWebhooksExample(t *testing.T) {
	// The example of the Standard Webhooks libraries' tests.
	got, err := webhooks.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s; want %s", got, want)
	}
	if _, err := webhooks.Sign("whsec_c2hvcnQ=", "x", 1, nil); err == nil {
		t.Errorf("a 5-byte key signs")
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "8.8.8.8": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false,
		"10.0.0.1": false, "172.16.5.4": false, "172.31.255.255": false, "192.168.0.1": false,
		"169.254.169.254": false, "fe80::1": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "ff02::1": false, "239.255.255.250": false,
		"100.64.0.1": false, "100.127.255.254": false, "100.128.0.1": true,
		"fd00::1": false, "fc00::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true,
		"64:ff9b::a00:1": false, "64:ff9b::808:808": true, "2002:c0a8:101::1": false,
		"255.255.255.255": false, "198.18.0.1": false,
	} {
		if got := webhooks.PublicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("PublicAddr(%s) = %v; want %v", addr, got, public)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://example.com/hook", false, true},
		{"  https://example.com:8443/hook?x=1  ", false, true},
		{"https://localhost/hook", false, true}, // judged at connection time
		{"http://example.com/hook", false, false},
		{"http://example.com/hook", true, true},
		{"http://127.0.0.1:8080/hook", true, true},
		{"https://127.0.0.1/hook", false, false},
		{"https://[::1]/hook", false, false},
		{"https://example.com/#frag", false, false},
		{"https://u:p@example.com/", false, false},
		{"gopher://example.com/", true, false},
		{"https:///nohost", false, false},
		{"https://exa mple.com/", false, false},
		{"https://example.com/" + strings.Repeat("a", 2000), false, false},
	} {
		var v models.Validator
		webhooks.CheckURL(&v, "url", c.url, c.allowPrivate)
		if v.Valid() != c.ok {
			t.Errorf("CheckURL(%q, %v): valid %v (%v); want %v", c.url, c.allowPrivate, v.Valid(), v.Errors, c.ok)
		}
	}
}

type fixture struct {
	store *models.Store
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := testdb.Open(t, "hooks.db")
	f := &fixture{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f.store = models.New(db, models.Options{Now: func() time.Time { return f.now }, Argon: models.CheapArgon})
	t.Cleanup(func() { f.store.Close() })
	return f
}

func (f *fixture) worker(opts webhooks.Options) *webhooks.Worker {
	opts.AllowPrivate, opts.Now = true, func() time.Time { return f.now }
	return webhooks.New(f.store.Webhooks, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
}

// endpointWithTest makes an endpoint for url with a test event queued.
func (f *fixture) endpointWithTest(t *testing.T, url string) models.WebhookEndpoint {
	t.Helper()
	ep, _, err := f.store.Webhooks.Create(context.Background(), 0, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Webhooks.SendTest(context.Background(), 0, ep.ID); err != nil {
		t.Fatal(err)
	}
	return ep
}

func lastDelivery(t *testing.T, f *fixture, id int64) models.WebhookDelivery {
	t.Helper()
	log, err := f.store.Webhooks.Deliveries(context.Background(), id, 1)
	if err != nil || len(log) != 1 {
		t.Fatalf("deliveries: %v, %v", log, err)
	}
	return log[0]
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	f := newFixture(t)
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			hit = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	ep := f.endpointWithTest(t, srv.URL+"/hook")
	if n, err := f.worker(webhooks.Options{}).DeliverDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("delivered %d, %v; want a failure", n, err)
	}
	if hit {
		t.Errorf("the redirect was followed")
	}
	if d := lastDelivery(t, f, ep.ID); d.Status != models.WebhookQueued || d.LastStatus != http.StatusTemporaryRedirect {
		t.Errorf("delivery %+v; want queued after a 307", d)
	}
}

func TestASlowReceiverTimesOut(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ep := f.endpointWithTest(t, srv.URL+"/hook")
	start := time.Now()
	if n, _ := f.worker(webhooks.Options{Timeout: 200 * time.Millisecond}).DeliverDue(context.Background()); n != 0 {
		t.Fatalf("delivered %d", n)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the timeout did not hold")
	}
	if d := lastDelivery(t, f, ep.ID); d.Status != models.WebhookQueued || d.LastError != "no answer within the time limit" {
		t.Errorf("delivery %+v", d)
	}
}

func TestRunDeliversAfterTheCommit(t *testing.T) {
	f := newFixture(t)
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("webhook-id")
	}))
	defer srv.Close()
	w := f.worker(webhooks.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	if _, _, err := f.store.Webhooks.Create(ctx, 0, srv.URL+"/hook", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the first pass finds nothing
	// Any change that records an event wakes the worker after its commit.
	if _, err := f.store.Staff.TopOffAll(ctx, 0, 5); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id == "" {
			t.Errorf("no webhook-id")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not wake after the commit")
	}
}

func TestOneSenderAtATimePerEndpoint(t *testing.T) {
	f := newFixture(t)
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	ep := f.endpointWithTest(t, srv.URL+"/hook")
	// Another process's sender holds the endpoint.
	if ok, err := f.store.Webhooks.Claim(context.Background(), ep.ID, 10*time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	w := f.worker(webhooks.Options{})
	if n, err := w.DeliverDue(context.Background()); err != nil || n != 0 || hits != 0 {
		t.Fatalf("sent %d (%d hits), %v while another sender holds the endpoint", n, hits, err)
	}
	// That sender died: its lease lapses.
	f.now = f.now.Add(11 * time.Minute)
	if n, err := w.DeliverDue(context.Background()); err != nil || n != 1 || hits != 1 {
		t.Fatalf("sent %d (%d hits), %v after the lease lapsed", n, hits, err)
	}
	// The lease was given back with the outcome.
	if ok, err := f.store.Webhooks.Claim(context.Background(), ep.ID, time.Minute); err != nil || !ok {
		t.Errorf("the lease was kept: %v, %v", ok, err)
	}
}
