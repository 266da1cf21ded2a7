package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/webhooks"
)

// withWebhooksPrivate is BECKON_WEBHOOK_ALLOW_PRIVATE=true, so that the
// test's receiver on 127.0.0.1 may be used.
func withWebhooksPrivate() appOption {
	return func(_ *models.Options, c *handlers.Config) { c.WebhookAllowPrivate = true }
}

// verifyStandardWebhook checks a delivery as a consumer would, from the
// Standard Webhooks description alone: the secret is whsec_ and the base64
// of the key; the signed content is "{webhook-id}.{webhook-timestamp}.{body}";
// webhook-signature holds space-separated "v1,{base64 HMAC-SHA256}" entries,
// any of which may match; a timestamp more than five minutes from now is
// refused, against replays.
func verifyStandardWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := now.Unix() - sent; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d is too far from now %d", sent, now.Unix())
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("bad secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// received is one request the receiver got.
type received struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a webhook consumer on 127.0.0.1; status decides each answer
// from how many requests came before it.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, received{path: r.URL.Path, header: r.Header.Clone(), body: body})
	status := http.StatusOK
	if rc.status != nil {
		status = rc.status(n)
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (a *testApp) webhookWorker(allowPrivate bool) *webhooks.Worker {
	return webhooks.New(a.store.Webhooks, slog.New(slog.NewTextHandler(a.logs, nil)),
		webhooks.Options{AllowPrivate: allowPrivate, Now: a.clock.Now})
}

func deliverWebhooks(t *testing.T, w *webhooks.Worker) int {
	t.Helper()
	n, err := w.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var secretRE = regexp.MustCompile(`data-testid="webhook-secret-value"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-testid="webhook-secret-value"`)

// addEndpoint adds an endpoint through the form and returns its secret.
func addEndpoint(t *testing.T, c *client, u string, events ...string) string {
	t.Helper()
	res := c.post("/staff/webhooks", url.Values{"url": {u}, "events": events})
	expect(t, "add endpoint "+u, res, http.StatusCreated, "Copy it now")
	m := secretRE.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", mainPart(res.body))
	}
	secret := html.UnescapeString(m[1] + m[2])
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9+/]+=*$`).MatchString(secret) {
		t.Fatalf("secret %q is not whsec_{base64}", secret)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if len(key) < 24 || len(key) > 64 {
		t.Errorf("key of %d bytes; Standard Webhooks wants 24 to 64", len(key))
	}
	return secret
}

func staffClient(t *testing.T, app *testApp) (*client, models.User) {
	t.Helper()
	u, err := app.store.Users.Create(context.Background(), models.NewUser{Email: "staff@example.com", Username: "staff",
		Password: testPassword, Staff: true, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	c := app.client()
	c.login("staff", testPassword)
	return c, u
}

func TestWebhookDeliveryVerifiesAsStandardWebhooks(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, _ := staffClient(t, app)
	rc := newReceiver(t, nil)
	secret := addEndpoint(t, staff, rc.srv.URL+"/sent", "invite_sent")
	addEndpoint(t, staff, rc.srv.URL+"/alloc", "allocation_changed")

	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("friend@example.com", "hi")), http.StatusSeeOther)
	worker := app.webhookWorker(true)
	if n := deliverWebhooks(t, worker); n != 1 {
		t.Fatalf("delivered %d; want 1 (only the invite_sent endpoint wants it)", n)
	}
	got := rc.all()
	if len(got) != 1 || got[0].path != "/sent" {
		t.Fatalf("receiver got %d requests (%v); want one to /sent", len(got), got)
	}
	r := got[0]
	if err := verifyStandardWebhook(secret, r.header, r.body, app.clock.Now()); err != nil {
		t.Errorf("the delivery does not verify: %v\nheaders %v", err, r.header)
	}
	if err := verifyStandardWebhook(secret, r.header, append([]byte(" "), r.body...), app.clock.Now()); err == nil {
		t.Errorf("a changed body verifies too: the check proves nothing")
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body struct {
		ID        int64          `json:"id"`
		Type      string         `json:"type"`
		CreatedAt string         `json:"created_at"`
		Data      map[string]any `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body.Type != "invite_sent" || body.Data["email"] != "friend@example.com" || strconv.FormatInt(body.ID, 10) != r.header.Get("webhook-id") {
		t.Errorf("body %+v, webhook-id %q", body, r.header.Get("webhook-id"))
	}
	if _, err := time.Parse(time.RFC3339, body.CreatedAt); err != nil {
		t.Errorf("created_at %q is not RFC 3339", body.CreatedAt)
	}
	res := staff.get("/staff/webhooks")
	expect(t, "delivery log", res, http.StatusOK, `data-testid="webhook-delivery" data-status="delivered"`, "Delivered (200)", "invite_sent")
	if strings.Contains(res.body, secret) || strings.Contains(res.body, strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("the secret is shown again")
	}
	if strings.Contains(app.logs.String(), strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("the secret is in the log")
	}
}

func TestWebhookRetriesA500WithBackoff(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, _ := staffClient(t, app)
	rc := newReceiver(t, func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	secret := addEndpoint(t, staff, rc.srv.URL+"/hook")
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("friend@example.com", "")), http.StatusSeeOther)
	worker := app.webhookWorker(true)
	if n := deliverWebhooks(t, worker); n != 0 {
		t.Fatalf("delivered %d on a 500", n)
	}
	expect(t, "log after a 500", staff.get("/staff/webhooks"), http.StatusOK, "the endpoint answered 500", `data-status="queued"`)
	deliverWebhooks(t, worker)
	if got := len(rc.all()); got != 1 {
		t.Fatalf("%d requests before the backoff ran out; want 1", got)
	}
	app.clock.Advance(59 * time.Second) // the first retry comes within a minute
	if n := deliverWebhooks(t, worker); n != 1 {
		t.Fatalf("delivered %d on the retry; want 1", n)
	}
	got := rc.all()
	if len(got) != 2 || got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") || string(got[0].body) != string(got[1].body) {
		t.Fatalf("the retry is not the same message: %v", got)
	}
	if err := verifyStandardWebhook(secret, got[1].header, got[1].body, app.clock.Now()); err != nil {
		t.Errorf("the retry does not verify: %v", err)
	}
	expect(t, "log after the retry", staff.get("/staff/webhooks"), http.StatusOK, "Delivered (204)")
}

func TestWebhookWaitsOutAReceiverThatIsDownAcrossARestart(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, _ := staffClient(t, app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there while the receiver is down
	addEndpoint(t, staff, "http://"+addr+"/hook")
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("friend@example.com", "")), http.StatusSeeOther)

	worker := app.webhookWorker(true)
	for range 5 {
		if n := deliverWebhooks(t, worker); n != 0 {
			t.Fatalf("delivered %d to nothing", n)
		}
		app.clock.Advance(time.Hour)
	}
	expect(t, "log while down", staff.get("/staff/webhooks"), http.StatusOK, "could not connect", `data-status="queued"`)

	// A restart: the old store and worker go; new ones open the same file.
	if err := app.store.Close(); err != nil {
		t.Fatal(err)
	}
	store := models.New(app.store.DB, models.Options{Now: app.clock.Now, Argon: models.CheapArgon})
	defer store.Close()
	worker = webhooks.New(store.Webhooks, slog.New(slog.NewTextHandler(io.Discard, nil)),
		webhooks.Options{AllowPrivate: true, Now: app.clock.Now})

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	rc := &receiver{}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Listener.Close()
	rc.srv.Listener = ln
	rc.srv.Start()
	defer rc.srv.Close()
	app.clock.Advance(time.Hour)
	n, err := worker.DeliverDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("after the restart delivered %d, %v; want 1", n, err)
	}
	if got := rc.all(); len(got) != 1 || !strings.Contains(string(got[0].body), `"type":"invite_sent"`) {
		t.Errorf("receiver got %v", got)
	}
}

func TestWebhooksDeliverAHundredEventsInOrderPerEndpoint(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate(), withAllocation(100), withRates(0, 0))
	staff, _ := staffClient(t, app)
	rc := newReceiver(t, nil)
	addEndpoint(t, staff, rc.srv.URL+"/a")
	addEndpoint(t, staff, rc.srv.URL+"/b", "invite_sent")
	ann := app.user("ann@example.com", "ann", true)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if _, _, err := app.store.Invitations.CreateFrom(ctx, ann, fmt.Sprintf("friend%d@example.com", i), "", 0); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := deliverWebhooks(t, app.webhookWorker(true)); n != 200 {
		t.Fatalf("delivered %d; want 200", n)
	}
	ids := map[string][]int64{}
	for _, r := range rc.all() {
		id, _ := strconv.ParseInt(r.header.Get("webhook-id"), 10, 64)
		ids[r.path] = append(ids[r.path], id)
	}
	for _, path := range []string{"/a", "/b"} {
		got := ids[path]
		if len(got) != 100 {
			t.Errorf("%s got %d deliveries; want 100", path, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("%s: event %d came after %d", path, got[i], got[i-1])
			}
		}
	}
}

func TestWebhookURLsMustBePublicUnlessAllowed(t *testing.T) {
	app := newTestApp(t)
	staff, _ := staffClient(t, app)
	for _, c := range []struct{ url, msg string }{
		{"", "Enter the URL of your endpoint."},
		{"example.com/hook", "Enter a whole URL"},
		{"http://example.com/hook", "Use an https:// URL"},
		{"ftp://example.com/hook", "Use an https:// URL."},
		{"https://user:pw@example.com/hook", "Leave the user name and password out"},
		{"https://127.0.0.1/hook", "127.0.0.1 is a private, loopback or reserved address"},
		{"https://10.1.2.3/hook", "10.1.2.3 is a private"},
		{"https://192.168.1.1/hook", "is a private"},
		{"https://169.254.169.254/latest/meta-data", "is a private"},
		{"https://100.64.0.1/hook", "is a private"},
		{"https://0.0.0.0/hook", "is a private"},
		{"https://[::1]/hook", "is a private"},
		{"https://[fd12::1]/hook", "is a private"},
		{"https://[fe80::1]/hook", "is a private"},
		{"https://[::ffff:127.0.0.1]/hook", "is a private"},
		{"https://224.0.0.1/hook", "is a private"},
	} {
		res := staff.post("/staff/webhooks", url.Values{"url": {c.url}})
		expect(t, "save "+c.url, res, http.StatusUnprocessableEntity, `id="url-error"`, html.EscapeString(c.msg))
	}
	res := staff.post("/staff/webhooks", url.Values{"url": {"https://example.com/hook"}, "events": {"bogus"}})
	expect(t, "unknown event", res, http.StatusUnprocessableEntity, "Choose events from the list.")

	// A name is judged when connecting: localhost saves, but resolves to
	// 127.0.0.1 at request time, and the dialer refuses it there.
	rc := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	addEndpoint(t, staff, "https://localhost:"+port+"/saved")
	// The same receiver by plain http, which only the dial check can stop
	// (inserted past the form, which would refuse http here).
	if _, _, err := app.store.Webhooks.Create(context.Background(), 0, "http://localhost:"+port+"/plain", nil); err != nil {
		t.Fatal(err)
	}
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("friend@example.com", "")), http.StatusSeeOther)
	if n := deliverWebhooks(t, app.webhookWorker(false)); n != 0 {
		t.Fatalf("delivered %d to a loopback address", n)
	}
	if got := rc.all(); len(got) != 0 {
		t.Fatalf("the receiver on 127.0.0.1 got %d requests", len(got))
	}
	body := staff.get("/staff/webhooks").body
	if c := strings.Count(body, "which is not a public address"); c != 2 {
		t.Errorf("%d delivery logs say the address was refused; want 2\n%s", c, mainPart(body))
	}
	// Allowed, the same plain http endpoint is reached: the refusal above
	// was the address check and nothing else.
	app.clock.Advance(time.Minute)
	deliverWebhooks(t, app.webhookWorker(true))
	if got := rc.all(); len(got) != 1 || got[0].path != "/plain" {
		t.Errorf("allowed, the receiver got %v; want one request to /plain", got)
	}
}

func TestWebhookPrivateURLsSaveWhenAllowed(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, _ := staffClient(t, app)
	addEndpoint(t, staff, "http://127.0.0.1:9/hook")
	addEndpoint(t, staff, "http://10.0.0.1/hook")
}

func TestWebhookTurnedOffAfterThreeDaysOfFailures(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, _ := staffClient(t, app)
	failing := true
	var mu sync.Mutex
	rc := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	addEndpoint(t, staff, rc.srv.URL+"/hook")
	ann, _ := app.member("ann@example.com", "ann")
	expect(t, "invite", ann.post("/invitations", invite("friend@example.com", "")), http.StatusSeeOther)
	worker := app.webhookWorker(true)
	start := app.clock.Now()
	for app.clock.Now().Sub(start) < 71*time.Hour {
		deliverWebhooks(t, worker)
		app.clock.Advance(20 * time.Minute)
	}
	eps, _ := app.store.Webhooks.List(context.Background())
	if !eps[0].Enabled {
		t.Fatalf("turned off before 3 days")
	}
	expect(t, "failing", staff.get("/staff/webhooks"), http.StatusOK, `data-testid="webhook-failing"`)
	attempts := len(rc.all())
	if attempts < 24 {
		t.Errorf("only %d attempts in 71 hours", attempts)
	}
	for app.clock.Now().Sub(start) < 73*time.Hour {
		deliverWebhooks(t, worker)
		app.clock.Advance(20 * time.Minute)
	}
	eps, _ = app.store.Webhooks.List(context.Background())
	if eps[0].Enabled {
		t.Fatalf("still on after 3 days of failures")
	}
	res := staff.get("/staff/webhooks")
	expect(t, "turned off", res, http.StatusOK, `data-enabled="false"`, `data-testid="webhook-disabled"`, "Turned off on",
		"Every delivery failed from", "the endpoint answered 502", `data-status="failed"`)

	// Off, it gets nothing, and no delivery is queued for it.
	attempts = len(rc.all())
	expect(t, "invite", ann.post("/invitations", invite("other@example.com", "")), http.StatusSeeOther)
	app.clock.Advance(time.Hour)
	deliverWebhooks(t, worker)
	if len(rc.all()) != attempts {
		t.Errorf("a turned-off endpoint was sent to")
	}

	// A test event turns it on again.
	mu.Lock()
	failing = false
	mu.Unlock()
	expect(t, "test", staff.post(fmt.Sprintf("/staff/webhooks/%d/test", eps[0].ID), nil), http.StatusSeeOther)
	if n := deliverWebhooks(t, worker); n != 1 {
		t.Errorf("delivered %d after the test; want 1", n)
	}
	eps, _ = app.store.Webhooks.List(context.Background())
	if !eps[0].Enabled {
		t.Errorf("the test did not turn it on")
	}
}

func TestWebhookTestEventDeleteAndAccess(t *testing.T) {
	app := newTestApp(t, withWebhooksPrivate())
	staff, staffUser := staffClient(t, app)
	rc := newReceiver(t, nil)
	addEndpoint(t, staff, rc.srv.URL+"/one", "invite_sent")
	addEndpoint(t, staff, rc.srv.URL+"/two")
	eps, _ := app.store.Webhooks.List(context.Background())

	expect(t, "test", staff.post(fmt.Sprintf("/staff/webhooks/%d/test", eps[0].ID), nil), http.StatusSeeOther)
	expect(t, "flash", staff.get("/staff/webhooks"), http.StatusOK, "A test event is on its way.")
	if n := deliverWebhooks(t, app.webhookWorker(true)); n != 1 {
		t.Fatalf("delivered %d; want the test event to the one endpoint", n)
	}
	got := rc.all()
	if len(got) != 1 || got[0].path != "/one" || !strings.Contains(string(got[0].body), `"type":"webhook_test"`) {
		t.Fatalf("receiver got %v", got)
	}
	// The test event is no event of the site: not in the feed.
	_, body, _ := app.apiCall(t, "GET", "/api/v1/events", app.tokenFor(t, staffUser), nil)
	if evs, _ := body["events"].([]any); len(evs) != 0 {
		t.Errorf("the feed shows %v", evs)
	}

	expect(t, "test unknown", staff.post("/staff/webhooks/999/test", nil), http.StatusNotFound)
	expect(t, "delete unknown", staff.post("/staff/webhooks/x/delete", nil), http.StatusNotFound)
	expect(t, "delete", staff.post(fmt.Sprintf("/staff/webhooks/%d/delete", eps[0].ID), nil), http.StatusSeeOther)
	res := staff.get("/staff/webhooks")
	expect(t, "after delete", res, http.StatusOK, "The endpoint is deleted.", rc.srv.URL+"/two")
	if strings.Contains(res.body, rc.srv.URL+"/one") {
		t.Errorf("the deleted endpoint is still listed")
	}
	expect(t, "nav link", res, http.StatusOK, `href="/staff/webhooks"`)

	member, _ := app.member("ann@example.com", "ann")
	expect(t, "member page", member.get("/staff/webhooks"), http.StatusForbidden)
	expect(t, "member post", member.post("/staff/webhooks", url.Values{"url": {"https://example.com"}}), http.StatusForbidden)
	expect(t, "member test", member.post(fmt.Sprintf("/staff/webhooks/%d/test", eps[1].ID), nil), http.StatusForbidden)
	expect(t, "visitor", app.client().get("/staff/webhooks"), http.StatusSeeOther)
}
