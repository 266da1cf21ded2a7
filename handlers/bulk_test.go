package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/beckon-app/beckon/models"
)

// bulkLine is one line of a finished job's report.
type bulkLine struct {
	n                       int
	email, outcome, message string
}

var bulkRowRE = regexp.MustCompile(`(?s)data-testid="bulk-row" data-n="(\d+)" data-outcome="([a-z_]*)">.*?<span class="min-w-0[^"]*">(.*?)</span>.*?data-testid="bulk-row-message">(.*?)</span>`)

// bulkReport reads the lines of the report on a job's page.
func bulkReport(t *testing.T, body string) []bulkLine {
	t.Helper()
	var out []bulkLine
	for _, m := range bulkRowRE.FindAllStringSubmatch(body, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		out = append(out, bulkLine{n: n, email: html.UnescapeString(m[3]), outcome: m[2], message: html.UnescapeString(m[4])})
	}
	return out
}

// postBulk submits the bulk form as multipart, with a CSV file when csv is
// not empty.
func (c *client) postBulk(emails, note, csv string) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("emails", emails)
	mw.WriteField("note", note)
	if csv != "" {
		fw, _ := mw.CreateFormFile("csv", "list.csv")
		fw.Write([]byte(csv))
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.app.srv.URL+"/staff/invite", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func (a *testApp) runBulk() {
	a.t.Helper()
	if err := a.store.Bulk.Work(context.Background()); err != nil {
		a.t.Fatal(err)
	}
}

// A list of 1,000 rows with every outcome mixed in: each
// row's line in the report says what the invite form says for the same
// address and note, and each address sent is sent once.
func TestBulkInviteThousandRows(t *testing.T) {
	app := newTestApp(t, withAllocation(0), withRates(0, 3))
	ctx := context.Background()
	staff, su := app.staffMember("staff@example.com", "staff")
	if _, err := app.store.Staff.AddToUser(ctx, su.ID, su.ID, 700); err != nil {
		t.Fatal(err)
	}
	lines := []string{"email,note"} // a header, skipped
	want := map[int]string{}
	add := func(line, outcome string) {
		lines = append(lines, line)
		want[len(lines)-1] = outcome
	}
	for i := range 100 {
		switch i % 3 {
		case 0:
			add(fmt.Sprintf("not-an-address-%d", i), models.OutcomeInvalid)
		case 1:
			add(fmt.Sprintf(",a note without an address %d", i), models.OutcomeInvalid)
		default:
			add(fmt.Sprintf("long%d@example.com,%s", i, strings.Repeat("x", 501)), models.OutcomeInvalid)
		}
	}
	if err := app.store.Settings.Save(ctx, su.ID, models.SiteSettings{BlockedDomains: []string{"blocked.example"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		switch {
		case i < 60:
			app.user(fmt.Sprintf("member%d@example.com", i), fmt.Sprintf("member%d", i), true)
			add(fmt.Sprintf("Member%d@example.com", i), models.OutcomeAlreadyMember)
		case i < 80:
			add(fmt.Sprintf("someone%d@mail.blocked.example", i), models.OutcomeDomainBlocked)
		default:
			if _, err := app.store.DB.Exec(`INSERT INTO optouts (email_key, created_at) VALUES (?, 0)`, fmt.Sprintf("quiet%d@example.com", i)); err != nil {
				t.Fatal(err)
			}
			add(fmt.Sprintf("quiet%d@example.com", i), models.OutcomeOptedOut)
		}
	}
	for i := range 100 {
		addr := fmt.Sprintf("invited%d@example.com", i)
		if _, _, err := app.store.Invitations.Create(ctx, su.ID, addr, "", 0); err != nil {
			t.Fatal(err)
		}
		add(addr, models.OutcomeAlreadyInvited)
	}
	for i := range 650 {
		outcome := models.OutcomeSent
		if i >= 600 {
			outcome = models.OutcomeNoneLeft
		}
		if i%7 == 0 {
			add(fmt.Sprintf("new%d@example.com,Hello, friend %d", i, i), outcome)
		} else {
			add(fmt.Sprintf("new%d@example.com", i), outcome)
		}
	}
	for i := range 50 { // the same addresses again, sent above
		add(fmt.Sprintf("NEW%d@example.com", i), models.OutcomeAlreadyInvited)
	}
	if len(lines) != 1001 {
		t.Fatalf("%d rows; the test wants 1,000 and a header", len(lines)-1)
	}
	before := allocations(t, app)

	res := staff.postBulk(strings.Join(lines, "\r\n"), "From the team", "")
	if res.status != http.StatusSeeOther {
		t.Fatalf("post: status %d\n%.1500s", res.status, mainPart(res.body))
	}
	page := res.header.Get("Location")
	if !regexp.MustCompile(`^/staff/invite/\d+$`).MatchString(page) {
		t.Fatalf("redirect to %q; want /staff/invite/{id}", page)
	}
	running := staff.get(page)
	expect(t, "running", running, http.StatusOK, `max="1000" value="0"`, `hx-trigger="every 1s"`,
		`<noscript><meta http-equiv="refresh" content="2"></noscript>`, "0 of 1000 rows done")
	expect(t, "poll while running", staff.get(page, htmx...), http.StatusOK, `id="bulk-progress"`, `hx-swap-oob="innerHTML"`)

	app.runBulk()

	done := staff.get(page)
	expect(t, "done", done, http.StatusOK, `max="1000" value="1000"`, "Every row is done", "sent: <strong>600</strong>",
		"already a member: <strong>60</strong>", "blocked domain: <strong>20</strong>", "opted out: <strong>20</strong>", "already invited: <strong>150</strong>", "invalid: <strong>100</strong>",
		"no invitations left: <strong>50</strong>")
	if strings.Contains(done.body, `hx-trigger`) || strings.Contains(done.body, "http-equiv") {
		t.Error("a finished job's page still polls or refreshes")
	}
	poll := staff.get(page, htmx...)
	expect(t, "poll when done", poll, http.StatusOK, `hx-swap-oob="outerHTML:#bulk-report"`, `data-testid="bulk-rows"`)
	report := bulkReport(t, done.body)
	if len(report) != 1000 {
		t.Fatalf("report has %d lines; want 1000", len(report))
	}
	for _, l := range report {
		if l.outcome != want[l.n] {
			t.Errorf("row %d (%s): %s %q; want %s", l.n, l.email, l.outcome, l.message, want[l.n])
		}
	}

	// Each line says what the invite form says for the same row. (A sent
	// row's address is now invited, so its form answer is compared with a
	// fresh address sent by another staff member.)
	for _, n := range []int{1, 2, 3, 101, 150, 170, 190, 201, 299, 901, 949, 951, 1000} {
		l := report[n-1]
		email, note, _ := strings.Cut(lines[n], ",")
		if note == "" {
			note = "From the team"
		}
		form := staff.post("/invitations", invite(email, note), htmx...)
		if !strings.Contains(form.body, html.EscapeString(l.message)) || form.status == http.StatusOK {
			t.Errorf("row %d (%s): report says %q; the form answered %d: %.600s", n, email, l.message, form.status, form.body)
		}
	}
	sent := report[400]
	if sent.outcome != models.OutcomeSent || sent.message != "Invitation sent to "+sent.email+"." {
		t.Errorf("row 401: %s %q; want the form's flash", sent.outcome, sent.message)
	}
	other, ou := app.staffMember("other@example.com", "other")
	if _, err := app.store.Staff.AddToUser(ctx, su.ID, ou.ID, 1); err != nil {
		t.Fatal(err)
	}
	other.post("/invitations", invite("fresh@example.com", ""))
	expect(t, "the form's flash", other.get("/"), http.StatusOK, "Invitation sent to fresh@example.com.")

	// Every address sent once; the note of the row, or the form's.
	var dup, total int
	app.store.DB.QueryRow(`SELECT count(*) FROM (SELECT email_key FROM invitations WHERE inviter_id = ? GROUP BY email_key HAVING count(*) > 1)`, su.ID).Scan(&dup)
	app.store.DB.QueryRow(`SELECT count(*) FROM invitations WHERE inviter_id = ?`, su.ID).Scan(&total)
	if dup != 0 || total != 700 {
		t.Errorf("%d invitations, %d addresses twice; want 700, none twice", total, dup)
	}
	var note0, note1 string
	app.store.DB.QueryRow(`SELECT note FROM invitations WHERE email_key = 'new0@example.com'`).Scan(&note0)
	app.store.DB.QueryRow(`SELECT note FROM invitations WHERE email_key = 'new1@example.com'`).Scan(&note1)
	if note0 != "Hello, friend 0" || note1 != "From the team" {
		t.Errorf("notes %q and %q; want the row's and the form's", note0, note1)
	}
	after := allocations(t, app)
	if a := after["staff"]; a.Held != 700 || a.Allocated != before["staff"].Allocated {
		t.Errorf("staff allocation %+v; want all 700 held", a)
	}
}

// More than 1,000 rows, or an unreadable or empty list, is refused with 422
// before anything is queued; a CSV file is read like a pasted list.
func TestBulkInviteRefusesBadLists(t *testing.T) {
	app := newTestApp(t, withRates(0, 3))
	staff, su := app.staffMember("staff@example.com", "staff")
	var big []string
	for i := range 1001 {
		big = append(big, fmt.Sprintf("a%d@example.com", i))
	}
	expect(t, "1,001 rows", staff.postBulk(strings.Join(big, "\n"), "", ""), http.StatusUnprocessableEntity, "Send at most 1000 rows at a time; this list has 1001.")
	expect(t, "1,001 rows over both fields", staff.postBulk(strings.Join(big[:600], "\n"), "", strings.Join(big[600:], "\n")), http.StatusUnprocessableEntity, "Send at most 1000 rows")
	expect(t, "empty", staff.postBulk(" \n\n", "", ""), http.StatusUnprocessableEntity, "Paste at least one address")
	expect(t, "bad note", staff.postBulk("a@example.com", strings.Repeat("x", 501), ""), http.StatusUnprocessableEntity, "Keep the note to 500 characters.")
	var jobs int
	app.store.DB.QueryRow(`SELECT count(*) FROM bulk_jobs`).Scan(&jobs)
	if jobs != 0 {
		t.Fatalf("%d jobs queued by refused lists; want 0", jobs)
	}
	member, _ := app.member("ann@example.com", "ann")
	expect(t, "a member", member.postBulk("a@example.com", "", ""), http.StatusForbidden)
	expect(t, "a member's GET", member.get("/staff/invite"), http.StatusForbidden)

	// A CSV upload, quoted notes and all.
	res := staff.postBulk("", "", "email,note\r\nbob@example.com,\"Hi, Bob\"\r\ncid@example.com\r\n")
	if res.status != http.StatusSeeOther {
		t.Fatalf("csv: status %d\n%.800s", res.status, mainPart(res.body))
	}
	app.runBulk()
	report := bulkReport(t, staff.get(res.header.Get("Location")).body)
	if len(report) != 2 || report[0].outcome != "sent" || report[1].outcome != "sent" {
		t.Fatalf("csv report %+v; want two sent", report)
	}
	if inv := latestInvitation(t, app, su.ID); inv.Email != "cid@example.com" {
		t.Errorf("latest invitation to %s", inv.Email)
	}
	expect(t, "form lists the job", staff.get("/staff/invite"), http.StatusOK, "Your latest lists", "2 rows, done")
	expect(t, "unknown job", staff.get("/staff/invite/999"), http.StatusNotFound)
	expect(t, "bad job id", staff.get("/staff/invite/x"), http.StatusNotFound)
}

// A bulk list is subject to the staff member's hourly limit like the single
// form: rows past it get the form's rate-limited message.
func TestBulkInviteRateLimitedRows(t *testing.T) {
	app := newTestApp(t, withRates(3, 3))
	staff, _ := app.staffMember("staff@example.com", "staff")
	res := staff.postBulk("a@example.com\nb@example.com\nc@example.com\nd@example.com\ne@example.com", "", "")
	app.runBulk()
	report := bulkReport(t, staff.get(res.header.Get("Location")).body)
	if len(report) != 5 {
		t.Fatalf("%d lines; want 5", len(report))
	}
	for i, l := range report {
		want := models.OutcomeSent
		if i >= 3 {
			want = models.OutcomeRateLimited
		}
		if l.outcome != want {
			t.Errorf("row %d: %s %q; want %s", l.n, l.outcome, l.message, want)
		}
	}
	form := staff.post("/invitations", invite("f@example.com", ""), htmx...)
	expect(t, "the form", form, http.StatusTooManyRequests, html.EscapeString(report[4].message))
	_ = url.Values{}
}
