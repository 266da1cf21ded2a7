// Command loadtest measures the real server on loopback: it builds Beckon's
// handler exactly as "beckon serve" does, over a temporary SQLite file (or,
// with -db, a fresh database on a PostgreSQL server), with the mail worker
// running, listens on 127.0.0.1, and drives it with many concurrent HTTP
// clients for a fixed time per scenario. It prints requests per second,
// latency percentiles and the process's resident memory.
//
// With -instances N (PostgreSQL only) it starts N servers over the one
// database, each with its own connection pool, store, writer and mail
// worker, as N "beckon serve" processes would have, and spreads the
// clients' requests over them in turn.
//
//	go run ./cmd/loadtest [-duration 10s] [-conns 32] [-db postgres://…] [-instances 2]
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"github.com/beckon-app/beckon/handlers"
	"github.com/beckon-app/beckon/mail"
	"github.com/beckon-app/beckon/models"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// discard is a mail sender that sends nothing: the load run measures the
// site, not an SMTP server.
type discard struct{}

func (discard) Send(context.Context, mail.Message) error { return nil }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs")
	conns := fs.Int("conns", 32, "concurrent connections")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	only := fs.String("only", "", "run only the scenarios whose name contains this")
	pgURL := fs.String("db", "", "a PostgreSQL server's URL (its role may create databases): run on a fresh database there instead of SQLite")
	instances := fs.Int("instances", 1, "servers over the one database (PostgreSQL only), requests spread over them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	want := func(name string) bool { return strings.Contains(name, *only) }
	dir, err := os.MkdirTemp("", "beckon-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dsn, engine := filepath.Join(dir, "beckon.db"), "SQLite"
	if *pgURL != "" {
		fresh, drop, err := freshPostgres(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer drop()
		dsn, engine = fresh, "PostgreSQL"
	} else if *instances != 1 {
		return errors.New("-instances needs -db: one process owns a SQLite file")
	}
	srv, err := start(ctx, dsn, max(*instances, 1))
	if err != nil {
		return err
	}
	defer srv.close()

	fmt.Fprintf(out, "Beckon load run on %s, %d server(s): %d connections, %s per scenario, GOMAXPROCS from %d CPUs\n\n",
		engine, len(srv.urls), *conns, *duration, numCPU())
	fmt.Fprintf(out, "%-40s %9s %7s %9s %8s %8s %9s\n", "scenario", "requests", "errors", "req/s", "p50", "p99", "RSS")

	// Scenario 1: POST /invitations by signed-in members (htmx), each with
	// unlimited invitations, every address new.
	if want("POST") {
		if err := postScenario(ctx, srv, *duration, *conns, out); err != nil {
			return err
		}
	}
	if want("GET") {
		if err := panelScenario(ctx, srv, *duration, *conns, out); err != nil {
			return err
		}
	}
	return nil
}

func postScenario(ctx context.Context, srv *server, duration time.Duration, conns int, out io.Writer) error {
	inviters, err := srv.members(ctx, "inviter", conns)
	if err != nil {
		return err
	}
	var seq atomic.Int64
	r := drive(duration, inviters, func(c *http.Client, i int) (*http.Request, int) {
		n := seq.Add(1)
		form := url.Values{"email": {fmt.Sprintf("friend%d@example.com", n)}, "note": {"Come and join us"}}
		req, _ := http.NewRequest(http.MethodPost, srv.next()+"/invitations", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("HX-Request", "true")
		return req, http.StatusOK
	})
	r.print(out, "POST /invitations (htmx, signed in)")
	// The invitations' emails go out through the mail worker, which shares
	// the machine and the writer: say whether it kept up.
	var sent, queued int
	if err := srv.store.DB.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status = 'queued')
		FROM outbox WHERE kind = 'invitation'`).Scan(&sent, &queued); err != nil {
		return err
	}
	fmt.Fprintf(out, "%-40s %d emails sent during the run, %d still queued at its end\n", "  mail worker", sent, queued)
	return nil
}

// panelScenario is GET / for a member with 1,000 invitations.
func panelScenario(ctx context.Context, srv *server, duration time.Duration, conns int, out io.Writer) error {
	readers, err := srv.members(ctx, "reader", 1)
	if err != nil {
		return err
	}
	if err := srv.seedInvitations(ctx, "reader0", 1000); err != nil {
		return err
	}
	clients := make([]*http.Client, conns)
	for i := range clients {
		clients[i] = readers[0] // one member, many tabs
	}
	r := drive(duration, clients, func(c *http.Client, i int) (*http.Request, int) {
		req, _ := http.NewRequest(http.MethodGet, srv.next()+"/", nil)
		return req, http.StatusOK
	})
	r.print(out, "GET / (member with 1,000 invitations)")
	return nil
}

// server is Beckon's handler on one or more loopback listeners, each an
// instance with its own pool, store, writer and mail worker over one
// database.
type server struct {
	urls  []string
	turn  atomic.Uint64
	store *models.Store // the first instance's, for seeding and checks
	insts []*instance
}

type instance struct {
	db     *sql.DB
	store  *models.Store
	http   *http.Server
	stopBG context.CancelFunc
	wg     sync.WaitGroup
}

// next is the base URL of the instance whose turn it is.
func (s *server) next() string { return s.urls[int(s.turn.Add(1)%uint64(len(s.urls)))] }

// url is the first instance's, for signing in: sessions are shared.
func (s *server) url() string { return s.urls[0] }

func start(ctx context.Context, dsn string, n int) (*server, error) {
	s := &server{}
	for i := range n {
		inst, base, err := startInstance(ctx, dsn, i == 0)
		if err != nil {
			s.close()
			return nil, err
		}
		s.insts = append(s.insts, inst)
		s.urls = append(s.urls, base)
	}
	s.store = s.insts[0].store
	return s, nil
}

func startInstance(ctx context.Context, dsn string, migrate bool) (*instance, string, error) {
	db, err := models.Open(dsn)
	if err != nil {
		return nil, "", err
	}
	if migrate {
		if _, err := models.Migrate(ctx, db); err != nil {
			db.Close()
			return nil, "", err
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, "", err
	}
	base := "http://" + ln.Addr().String()
	store := models.New(db, models.Options{
		Composer:          mail.Composer{SiteName: "Beckon", BaseURL: base},
		DefaultAllocation: -1,
		InviteExpiry:      168 * time.Hour,
		Argon:             models.CheapArgon, // sign-in is not what is measured
	})
	var sessionStore scs.Store = sqlite3store.NewWithCleanupInterval(db, 0)
	if models.EngineOf(db) == models.Postgres {
		sessionStore = postgresstore.NewWithCleanupInterval(db, 0)
	}
	sessions := handlers.NewSessionManager(handlers.HashedSessionStore(sessionStore), false)
	h := handlers.New(logger, store, sessions, handlers.Config{
		SiteName: "Beckon", BaseURL: base, LoginPerIP: 1 << 20, LoginPerAccount: 1 << 20,
	})
	bg, stopBG := context.WithCancel(ctx)
	inst := &instance{db: db, store: store, http: &http.Server{Handler: h.Routes(), ReadHeaderTimeout: 5 * time.Second}, stopBG: stopBG}
	deliverer := mail.NewDeliverer(store.Outbox, discard{}, logger, mail.DelivererOptions{})
	inst.wg.Go(func() { deliverer.Run(bg, time.Second) })
	inst.wg.Go(func() {
		if err := inst.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "serve:", err)
		}
	})
	return inst, base, nil
}

func (s *server) close() {
	for _, inst := range s.insts {
		inst.http.Shutdown(context.Background())
		inst.stopBG()
		inst.wg.Wait()
		inst.store.Close()
		inst.db.Close()
	}
}

// freshPostgres makes an empty database on the server at serverURL for one
// run and returns its URL and a function that drops it.
func freshPostgres(ctx context.Context, serverURL string) (string, func(), error) {
	admin, err := models.Open(serverURL)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("beckon_load_%d", os.Getpid())
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		admin.Close()
		return "", nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create the load database: %w", err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}

// members creates n verified members and returns a client signed in as each.
func (s *server) members(ctx context.Context, prefix string, n int) ([]*http.Client, error) {
	var out []*http.Client
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		if _, err := s.store.Users.Create(ctx, models.NewUser{Email: name + "@example.com", Username: name, Password: "load test password", Verified: true}); err != nil {
			return nil, err
		}
		jar, _ := cookiejar.New(nil)
		// Enough idle connections for every goroutine that shares the
		// client, so that the run measures requests, not TCP handshakes.
		c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.PostForm(s.url()+"/login", url.Values{"login": {name}, "password": {"load test password"}})
		if err != nil {
			return nil, err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("sign-in of %s: %d", name, res.StatusCode)
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *server) seedInvitations(ctx context.Context, username string, n int) error {
	u, err := s.store.Users.GetByUsername(ctx, username)
	if err != nil {
		return err
	}
	for i := range n {
		if _, _, err := s.store.Invitations.Create(ctx, u.ID, fmt.Sprintf("%s-friend%d@example.com", username, i), "A note", 0); err != nil {
			return err
		}
	}
	return nil
}

// result is what one scenario measured.
type result struct {
	requests, errors int
	elapsed          time.Duration
	latencies        []time.Duration
}

func (r result) print(out io.Writer, name string) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(int(float64(len(r.latencies))*p), len(r.latencies)-1)]
	}
	fmt.Fprintf(out, "%-40s %9d %7d %9.0f %8s %8s %7d MB\n", name, r.requests, r.errors,
		float64(r.requests)/r.elapsed.Seconds(), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), rssMB())
}

// drive runs one goroutine per client, each sending requests back to back
// until d has passed.
func drive(d time.Duration, clients []*http.Client, next func(c *http.Client, i int) (*http.Request, int)) result {
	var mu sync.Mutex
	var total result
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			var local result
			for time.Now().Before(deadline) {
				req, want := next(c, i)
				t0 := time.Now()
				res, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				local.latencies = append(local.latencies, time.Since(t0))
				local.requests++
				if err != nil || res.StatusCode != want {
					local.errors++
				}
			}
			mu.Lock()
			total.requests += local.requests
			total.errors += local.errors
			total.latencies = append(total.latencies, local.latencies...)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}
