package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Clients that give up mid-request do not fail anyone else's write: while
// steady clients send invitations through the API, others send theirs and
// cancel them a moment later, landing their cancellations in every phase
// of the shared write transactions. Every steady request succeeds, every
// invitation answered 201 is in the database, and the allocations count
// exactly the invitations there are.
func TestCancelledRequestsDoNotFailOthers(t *testing.T) {
	app := newTestApp(t, withAllocation(-1), withRates(0, 0))
	router := app.srv.Config.Handler
	// A round takes a fraction of a second; a few of them make it all but
	// certain that some cancellation lands inside a running statement.
	const members, steady, quitters, each, rounds = 4, 16, 16, 30, 4
	tokens := make([]string, members)
	for i := range tokens {
		tokens[i] = app.tokenFor(t, app.user(fmt.Sprintf("m%d@example.com", i), fmt.Sprintf("m%d", i), true))
	}
	invite := func(ctx context.Context, token, email string) int {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/invite/",
			strings.NewReader(`{"email":"`+email+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		return rec.Code
	}

	var mu sync.Mutex
	var created []string // every address answered 201
	var failed []string  // steady requests that did not succeed
	for r := range rounds {
		var wg sync.WaitGroup
		for g := range steady {
			wg.Go(func() {
				for i := range each {
					email := fmt.Sprintf("steady-%d-%d-%d@example.com", r, g, i)
					status := invite(context.Background(), tokens[(g+i)%members], email)
					mu.Lock()
					if status == http.StatusCreated {
						created = append(created, email)
					} else {
						failed = append(failed, fmt.Sprintf("%s: %d", email, status))
					}
					mu.Unlock()
				}
			})
		}
		for g := range quitters {
			wg.Go(func() {
				for i := range each {
					email := fmt.Sprintf("quitter-%d-%d-%d@example.com", r, g, i)
					ctx, cancel := context.WithCancel(context.Background())
					stop := time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, cancel)
					status := invite(ctx, tokens[(g+i)%members], email)
					stop.Stop()
					cancel()
					if status == http.StatusCreated {
						mu.Lock()
						created = append(created, email)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	}

	if len(failed) > 0 {
		t.Errorf("%d of %d steady requests failed, e.g. %v", len(failed), steady*each, failed[:min(len(failed), 5)])
	}
	for _, email := range created {
		var n int
		if err := app.store.DB.QueryRow(`SELECT count(*) FROM invitations WHERE email = ?`, email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s was answered 201 but has %d invitations", email, n)
		}
	}
	var wrong int
	if err := app.store.DB.QueryRow(`SELECT count(*) FROM allocations a WHERE held !=
		(SELECT count(*) FROM invitations i WHERE i.inviter_id = a.user_id AND i.status IN ('pending', 'accepted'))`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%d allocations hold a different number than their pending and accepted invitations", wrong)
	}
	for _, line := range strings.Split(app.logs.String(), "\n") {
		if strings.Contains(line, "savepoint") {
			t.Errorf("a dead transaction was reported: %.500s", line)
			break
		}
	}
}
