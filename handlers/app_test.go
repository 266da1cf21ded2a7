package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
	"github.com/beckon-app/beckon/models/testdb"
)

// clock is a settable time source shared by the store and the mail worker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder is a mail.Sender that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []mail.Message
	fail bool
}

func (r *recorder) Send(ctx context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return io.ErrUnexpectedEOF
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) setFailing(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

func (r *recorder) all() []mail.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mail.Message(nil), r.msgs...)
}

// testApp is the real router over a real SQLite file.
type testApp struct {
	t         testing.TB
	store     *models.Store
	srv       *httptest.Server
	mail      *recorder
	deliverer *mail.Deliverer
	clock     *clock
	cfg       handlers.Config
	logs      *syncBuffer // everything the server logged
}

// syncBuffer collects log output written from server goroutines.
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

type appOption func(*models.Options, *handlers.Config)

func withOpenSignup() appOption {
	return func(_ *models.Options, c *handlers.Config) { c.SignupOpen = true }
}

func withAllocation(n int) appOption {
	return func(o *models.Options, _ *handlers.Config) { o.DefaultAllocation = n }
}

func withRates(inviter, recipient int) appOption {
	return func(o *models.Options, _ *handlers.Config) { o.InviteRate, o.RecipientRate = inviter, recipient }
}

func newTestApp(t testing.TB, opts ...appOption) *testApp {
	t.Helper()
	db := testdb.Open(t, "beckon.db")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	a := &testApp{t: t, clock: clk, mail: &recorder{}}
	mo := models.Options{
		Now:               clk.Now,
		Argon:             models.CheapArgon,
		DefaultAllocation: 5,
		InviteExpiry:      168 * time.Hour,
		InviteRate:        20,
		RecipientRate:     3,
	}
	a.cfg = handlers.Config{SiteName: "Beckon", BaseURL: "http://beckon.test"}
	for _, o := range opts {
		o(&mo, &a.cfg)
	}
	a.logs = &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(a.logs, nil))
	a.srv = httptest.NewUnstartedServer(nil)
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	a.cfg.BaseURL = a.srv.URL
	mo.Composer = mail.Composer{SiteName: a.cfg.SiteName, BaseURL: a.cfg.BaseURL}
	a.store = models.New(db, mo)
	a.deliverer = mail.NewDeliverer(a.store.Outbox, a.mail, logger, mail.DelivererOptions{Now: clk.Now, Backoff: time.Minute})
	sessions := handlers.NewSessionManager(handlers.HashedSessionStore(testdb.SessionStore(db)), false)
	a.srv.Config.Handler = handlers.New(logger, a.store, sessions, a.cfg).Routes()
	return a
}

// deliver runs the mail worker once and returns every message sent so far.
func (a *testApp) deliver() []mail.Message {
	a.t.Helper()
	if _, err := a.deliverer.DeliverDue(context.Background()); err != nil {
		a.t.Fatal(err)
	}
	return a.mail.all()
}

// lastMailTo delivers and returns the newest message to addr.
func (a *testApp) lastMailTo(addr string) mail.Message {
	a.t.Helper()
	msgs := a.deliver()
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, addr) {
			return msgs[i]
		}
	}
	a.t.Fatalf("no email to %s among %d", addr, len(msgs))
	return mail.Message{}
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// linkIn returns the path of the first link in m's text that contains part.
func linkIn(t testing.TB, m mail.Message, part string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			u, err := url.Parse(l)
			if err != nil {
				t.Fatal(err)
			}
			return u.Path
		}
	}
	t.Fatalf("no link with %q in email %q", part, m.Text)
	return ""
}

const testPassword = "correct horse battery"

// user creates an account directly through the store.
func (a *testApp) user(email, username string, verified bool) models.User {
	a.t.Helper()
	u, err := a.store.Users.Create(context.Background(), models.NewUser{
		Email: email, Username: username, Password: testPassword, Verified: verified,
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects, so tests see each answer.
type client struct {
	t    testing.TB
	app  *testApp
	http *http.Client
}

func (a *testApp) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: a.t, app: a, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status int
	body   string
	header http.Header
}

func (c *client) do(req *http.Request, headers ...string) response {
	c.t.Helper()
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: res.StatusCode, body: string(body), header: res.Header}
}

func (c *client) get(path string, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.app.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req, headers...)
}

// post submits a form as a same-origin browser would.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.app.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req, headers...)
}

// htmx is the header pair of an htmx (non-boosted) request.
var htmx = []string{"HX-Request", "true"}

func (c *client) login(login, password string) {
	c.t.Helper()
	res := c.post("/login", url.Values{"login": {login}, "password": {password}})
	if res.status != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d; want 303\n%s", login, res.status, res.body)
	}
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.app.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// expect checks a response's status and that its body contains each of wants.
func expect(t testing.TB, what string, res response, status int, wants ...string) {
	t.Helper()
	if res.status != status {
		t.Errorf("%s: status %d; want %d\nbody: %.1500s", what, res.status, status, mainPart(res.body))
	}
	for _, w := range wants {
		if !strings.Contains(res.body, w) {
			t.Errorf("%s: body lacks %q\nbody: %.1500s", what, w, mainPart(res.body))
		}
	}
}

// mainPart is the body from <main> on, where a page's own content starts.
func mainPart(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		return body[i:]
	}
	return body
}

// walkRoutes lists the routes of the app's router.
func walkRoutes(a *testApp, fn func(method, route string)) error {
	return handlers.WalkRoutes(a.srv.Config.Handler, fn)
}
